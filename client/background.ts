/**
 * The background worker page (PAGE_BACKGROUND_WORKER): starts the employee's phone in this
 * portal page and drives Bitrix24's call card with it.
 *
 * @module
 */
import { initializeB24Frame } from "@bitrix24/b24jssdk";
import { FrameApi } from "../lib/browser/frame_api.ts";
import { startPhoneSession } from "../lib/browser/phone_session.ts";
import { CallCardBridge, isSliderCopy } from "../lib/browser/call_card.ts";
import { pickLang, t } from "../lib/shared/i18n.ts";
import { claim } from "../lib/browser/claim.ts";

const frame = await initializeB24Frame();
const auth = frame.auth.getAuthData();
if (auth) {
  const api = new FrameApi({ authId: auth.access_token, memberId: auth.member_id }, {
    refresh: async () => {
      const fresh = await frame.auth.refreshAuth();
      return { authId: fresh.access_token, memberId: fresh.member_id };
    },
  });
  const { phone, scope } = await startPhoneSession(api, {
    onRegisterError: (error) => console.warn("SIP registration failed", error),
    onDialError: (error) => console.warn("a call from the mobile app was not dialled", error),
  });
  const lang = pickLang(frame.getLang());
  if (!isSliderCopy(frame.placement.options)) {
    new CallCardBridge({
      phone,
      card: {
        command: (name, params) => frame.placement.call(name, params ?? {}),
        on: (name, callback) =>
          void frame.placement.bindEvent(`BackgroundCallCard::${name}`, callback),
      },
      findCall: async (bitrixCallId) => {
        const { calls } = await api.history({ bitrixCallId });
        return calls[0];
      },
      colleagueAddress: async (userId) => {
        const { sipUri } = await api.widget("GETTRANSFERTARGET", { userId });
        return sipUri ?? undefined;
      },
      claim: (key) => claim(scope, key),
      text: (key) => t(lang, key),
      onError: (error) => console.warn("call card", error),
    }).start();
  }
}
