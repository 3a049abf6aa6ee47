// The administrator's panel: employees and their SIP accounts, portal settings, app credentials,
// and problems Bitrix24 reported.
import { type Signal, useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { type Lang, t, type TextKey } from "../lib/shared/i18n.ts";
import { ApiError, FrameApi, type FrameAuth } from "../lib/browser/frame_api.ts";
import { loadPhoneModule } from "../lib/browser/phone_session.ts";
import { AccountFields, type AccountView } from "../components/AccountFields.tsx";
import { Tabs } from "../components/Tabs.tsx";

/** Props of the admin island. */
export interface AdminProps {
  /** UI language. */
  lang: Lang;
  /** The frame's credentials for the app's APIs. */
  auth: FrameAuth;
  /** `local` apps need their client id and secret saved here. */
  appKind: "marketplace" | "local";
  /** Why Bitrix24 refuses the app on the portal for now (calls wait), or null. */
  blocked?: "payment_required" | "invalid_client" | null;
  /** The app's server-side Bitrix24 tokens are dead and no administrator's page renewed them. */
  serverTokensDead?: boolean;
}

const BLOCKED_TEXT: Record<NonNullable<AdminProps["blocked"]>, TextKey> = {
  payment_required: "blockedPaymentRequired",
  invalid_client: "blockedInvalidClient",
};

type Tab = "employees" | "portal" | "credentials" | "diagnostics";

interface Employee {
  id: number;
  name: string;
  position: string;
  photo: string | null;
  account: (AccountView & { bitrixUserId: number }) | null;
}

interface Settings {
  crmCreate: boolean;
  showCard: boolean;
  usersEditOwnAccount: boolean;
  iceServers: { urls: string | string[]; username?: string; credential?: string }[];
}

const TABS: [Tab, TextKey][] = [
  ["employees", "tabEmployees"],
  ["portal", "tabPortal"],
  ["credentials", "tabCredentials"],
  ["diagnostics", "tabDiagnostics"],
];

const errorText = (lang: Lang, e: unknown) =>
  e instanceof ApiError ? e.message : t(lang, "errorGeneric");

export default function Admin({ lang, auth, appKind, blocked, serverTokensDead }: AdminProps) {
  const tab = useSignal<Tab>("employees");
  const api = new FrameApi(auth);
  return (
    <section class="admin" aria-label={t(lang, "adminTitle")}>
      <h2 class="section-title">{t(lang, "adminTitle")}</h2>
      {blocked && <p class="card notice" role="alert">{t(lang, BLOCKED_TEXT[blocked])}</p>}
      {serverTokensDead && (
        <p class="banner error" role="alert" data-testid="server-tokens-dead">
          {t(lang, "serverTokensDead")}
        </p>
      )}
      <Tabs active={tab} tabs={TABS.map(([name, label]) => [name, t(lang, label)])} />
      {tab.value === "employees" && <Employees lang={lang} api={api} />}
      {tab.value === "portal" && <PortalSettings lang={lang} api={api} />}
      {tab.value === "credentials" && <Credentials lang={lang} api={api} appKind={appKind} />}
      {tab.value === "diagnostics" && <Diagnostics lang={lang} api={api} />}
    </section>
  );
}

function Employees({ lang, api }: { lang: Lang; api: FrameApi }) {
  const search = useSignal("");
  const users = useSignal<Employee[] | null>(null);
  const next = useSignal<number | null>(null);
  const total = useSignal(0);
  const error = useSignal("");
  const editing = useSignal<number | null>(null);
  const load = async (start = 0) => {
    error.value = "";
    if (start === 0) users.value = null;
    try {
      const page = await api.widget<{ users: Employee[]; next: number | null; total: number }>({
        event: "GETPORTALUSERS",
        search: search.value || undefined,
        start,
      });
      users.value = start === 0 ? page.users : [...(users.value ?? []), ...page.users];
      next.value = page.next;
      total.value = page.total;
    } catch (e) {
      error.value = errorText(lang, e);
      users.value = users.value ?? [];
    }
  };
  useEffect(() => void load(), []);
  return (
    <div class="card employees">
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          load();
        }}
      >
        <input
          type="search"
          aria-label={t(lang, "search")}
          placeholder={t(lang, "search")}
          value={search}
          onInput={(e) => search.value = (e.target as HTMLInputElement).value}
        />
        <button type="submit" class="secondary">{t(lang, "refresh")}</button>
        {users.value && <span class="muted">{total} {t(lang, "employeesTotal")}</span>}
      </form>
      {error.value && <p class="banner error" role="alert">{error}</p>}
      {users.value === null && <p class="muted">{t(lang, "loading")}</p>}
      <ul class="people">
        {users.value?.map((user) => (
          <li key={user.id} data-testid={`employee-${user.id}`}>
            <div class="person">
              <span class="avatar" aria-hidden="true">
                {user.photo ? <img src={user.photo} alt="" /> : initials(user.name)}
              </span>
              <div>
                <div class="person-name">{user.name}</div>
                <div class="muted">{user.position}</div>
              </div>
              <div class="person-account">
                {user.account
                  ? <span class="pill registered">{user.account.sipUri}</span>
                  : <span class="pill off">{t(lang, "notAssigned")}</span>}
              </div>
              <button
                type="button"
                class="secondary"
                aria-expanded={editing.value === user.id}
                onClick={() => editing.value = editing.value === user.id ? null : user.id}
              >
                {t(lang, "edit")}
              </button>
            </div>
            {editing.value === user.id && (
              <AccountEditor
                lang={lang}
                api={api}
                user={user}
                onDone={() => {
                  editing.value = null;
                  load();
                }}
              />
            )}
          </li>
        ))}
      </ul>
      {next.value !== null && (
        <button
          type="button"
          class="secondary"
          onClick={() => load(next.value!)}
        >
          {t(lang, "loadMore")}
        </button>
      )}
    </div>
  );
}

function initials(name: string): string {
  return name.split(/\s+/).map((p) => p[0] ?? "").join("").slice(0, 2).toUpperCase();
}

function AccountEditor({ lang, api, user, onDone }: {
  lang: Lang;
  api: FrameApi;
  user: Employee;
  onDone: () => void;
}) {
  const status = useSignal("");
  const busy = useSignal(false);
  const fields = (form: HTMLFormElement) => {
    const data = Object.fromEntries(new FormData(form)) as Record<string, string>;
    return {
      url: data.url,
      user: data.user,
      ...(data.password ? { password: data.password } : {}),
      ...(data.sipUri ? { sipUri: data.sipUri } : {}),
      displayName: data.displayName,
    };
  };
  const act = async (work: () => Promise<string>) => {
    busy.value = true;
    status.value = t(lang, "saving");
    try {
      status.value = await work();
    } catch (e) {
      status.value = errorText(lang, e);
    } finally {
      busy.value = false;
    }
  };
  return (
    <form
      class="editor"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget as HTMLFormElement;
        act(async () => {
          await api.widget({ event: "SAVEUSERDATA", userId: user.id, ...fields(form) });
          onDone();
          return t(lang, "saved");
        });
      }}
    >
      <AccountFields lang={lang} account={user.account} />
      <div class="form-actions">
        <button type="submit" disabled={busy.value}>{t(lang, "save")}</button>
        <button
          type="button"
          class="secondary"
          disabled={busy.value}
          onClick={(e) => {
            const form = (e.currentTarget as HTMLButtonElement).form!;
            act(() => testRegistration(lang, fields(form)));
          }}
        >
          {t(lang, "testRegister")}
        </button>
        {user.account && (
          <button
            type="button"
            class="danger"
            disabled={busy.value}
            onClick={() =>
              act(async () => {
                await api.widget({ event: "DELETEUSERDATA", userId: user.id });
                onDone();
                return t(lang, "saved");
              })}
          >
            {t(lang, "remove")}
          </button>
        )}
        <span class="muted" aria-live="polite">{status}</span>
      </div>
    </form>
  );
}

/**
 * Registers the entered account with a separate phone engine in this tab (so the admin's own
 * phone is untouched), then unregisters it.
 */
async function testRegistration(
  lang: Lang,
  f: { url: string; user: string; password?: string; sipUri?: string },
): Promise<string> {
  if (!f.password) return t(lang, "testNeedsPassword");
  const { connectPhone } = await loadPhoneModule();
  const phone = await connectPhone({
    host: "tab",
    name: `test-${crypto.randomUUID()}`,
    ringtone: false,
  });
  try {
    await phone.register({
      wsUrl: f.url,
      sipUri: f.sipUri || `sip:${f.user}@${new URL(f.url).hostname}`,
      authUser: f.user,
      password: f.password,
    });
    await phone.unregister();
    return t(lang, "testRegisterOk");
  } catch (e) {
    const reason = phone.state.registration.error?.code;
    return reason === "bad-credentials"
      ? t(lang, "errBadCredentials")
      : reason === "unreachable"
      ? t(lang, "errUnreachable")
      : (e as Error).message || t(lang, "errorGeneric");
  } finally {
    phone.close();
  }
}

function PortalSettings({ lang, api }: { lang: Lang; api: FrameApi }) {
  const settings = useSignal<Settings | null>(null);
  const status = useSignal("");
  useEffect(() => {
    api.widget<{ settings: Settings }>({ event: "GETPLACEMENTERRORS" }).then((r) =>
      settings.value = r.settings
    ).catch((e) => status.value = errorText(lang, e));
  }, []);
  if (!settings.value) return <p class="card muted">{status.value || t(lang, "loading")}</p>;
  const s = settings.value;
  const save = async (form: HTMLFormElement) => {
    const data = new FormData(form);
    const next: Settings = {
      crmCreate: data.has("crmCreate"),
      showCard: data.has("showCard"),
      usersEditOwnAccount: data.has("usersEditOwnAccount"),
      iceServers: parseIceServers(String(data.get("iceServers") ?? "")),
    };
    status.value = t(lang, "saving");
    try {
      await api.widget({ event: "SAVESETTINGS", settings: next });
      settings.value = next;
      status.value = t(lang, "saved");
    } catch (e) {
      status.value = errorText(lang, e);
    }
  };
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        save(e.currentTarget as HTMLFormElement);
      }}
    >
      <Toggle name="crmCreate" label={t(lang, "crmCreate")} checked={s.crmCreate} />
      <Toggle name="showCard" label={t(lang, "showCard")} checked={s.showCard} />
      <Toggle
        name="usersEditOwnAccount"
        label={t(lang, "usersEditOwn")}
        checked={s.usersEditOwnAccount}
      />
      <label class="field">
        <span>{t(lang, "iceServers")}</span>
        <textarea name="iceServers" rows={3} placeholder="stun:stun.example.com:3478">
          {formatIceServers(s.iceServers)}
        </textarea>
        <small class="muted">{t(lang, "iceServersHint")}</small>
      </label>
      <div class="form-actions">
        <button type="submit">{t(lang, "save")}</button>
        <span class="muted" aria-live="polite">{status}</span>
      </div>
    </form>
  );
}

function Toggle({ name, label, checked }: { name: string; label: string; checked: boolean }) {
  return (
    <label class="toggle">
      <input type="checkbox" name={name} checked={checked} />
      <span>{label}</span>
    </label>
  );
}

/** `turn:host:3478 user secret` lines → RTCIceServer objects. */
export function parseIceServers(text: string): Settings["iceServers"] {
  return text.split("\n").map((line) => line.trim().split(/\s+/)).filter((p) => p[0]).map((
    [urls, username, credential],
  ) => ({ urls, ...(username ? { username } : {}), ...(credential ? { credential } : {}) }));
}

function formatIceServers(servers: Settings["iceServers"]): string {
  return servers.map((s) =>
    [Array.isArray(s.urls) ? s.urls[0] : s.urls, s.username, s.credential].filter(Boolean).join(" ")
  ).join("\n");
}

function Credentials({ lang, api, appKind }: {
  lang: Lang;
  api: FrameApi;
  appKind: "marketplace" | "local";
}) {
  const status = useSignal("");
  if (appKind === "marketplace") return <p class="card muted">{t(lang, "marketplaceApp")}</p>;
  return (
    <form
      class="card"
      onSubmit={async (e) => {
        e.preventDefault();
        const data = new FormData(e.currentTarget as HTMLFormElement);
        status.value = t(lang, "saving");
        try {
          await api.widget({
            event: "UPDATECREED",
            clientId: String(data.get("clientId")),
            secretId: String(data.get("secretId")),
          });
          status.value = t(lang, "credentialsSaved");
        } catch (err) {
          status.value = errorText(lang, err);
        }
      }}
    >
      <p class="muted">{t(lang, "credentialsHint")}</p>
      <label class="field">
        <span>{t(lang, "clientId")}</span>
        <input name="clientId" required autocomplete="off" placeholder="local.0123abcd.12345678" />
      </label>
      <label class="field">
        <span>{t(lang, "clientSecret")}</span>
        <input name="secretId" type="password" required autocomplete="new-password" />
      </label>
      <div class="form-actions">
        <button type="submit">{t(lang, "save")}</button>
        <span class="muted" aria-live="polite">{status}</span>
      </div>
    </form>
  );
}

function Diagnostics({ lang, api }: { lang: Lang; api: FrameApi }) {
  const errors: Signal<{ at: string; error: string; error_description?: string }[] | null> =
    useSignal(null);
  useEffect(() => {
    api.widget<{ errors: { at: string; error: string; error_description?: string }[] }>({
      event: "GETPLACEMENTERRORS",
    }).then((r) => errors.value = r.errors).catch(() => errors.value = []);
  }, []);
  const fmt = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });
  return (
    <section class="card">
      <h3>{t(lang, "placementErrors")}</h3>
      {errors.value === null && <p class="muted">{t(lang, "loading")}</p>}
      {errors.value?.length === 0 && <p class="muted">{t(lang, "placementErrorsNone")}</p>}
      <ul class="log">
        {errors.value?.map((e, i) => (
          <li key={i}>
            <span class="muted">{fmt.format(new Date(e.at))}</span> <code>{e.error}</code>{" "}
            {e.error_description}
          </li>
        ))}
      </ul>
    </section>
  );
}
