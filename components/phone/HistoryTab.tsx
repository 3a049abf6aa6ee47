import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { type Lang, t, type TextKey } from "../../lib/shared/i18n.ts";
import { formatDuration } from "../../lib/shared/dial.ts";
import type { FrameApi } from "../../lib/browser/frame_api.ts";
import type { CallView } from "../../lib/shared/api/calls.ts";
import type { Json } from "../../lib/shared/api/json.ts";

/** The user's own calls from the journal, newest first. */
export function HistoryTab({ lang, api }: { lang: Lang; api: FrameApi }) {
  const rows = useSignal<Json<CallView>[] | null>(null);
  const failed = useSignal(false);
  const load = () => {
    failed.value = false;
    api.history().then((r) => rows.value = r.calls).catch(() => failed.value = true);
  };
  useEffect(load, []);
  const fmt = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });
  return (
    <section class="card history">
      <div class="card-header">
        <h2>{t(lang, "tabHistory")}</h2>
        <button type="button" class="secondary" onClick={load}>{t(lang, "refresh")}</button>
      </div>
      {failed.value && <p class="banner error">{t(lang, "errorGeneric")}</p>}
      {rows.value === null && !failed.value && <p class="muted">{t(lang, "loading")}</p>}
      {rows.value?.length === 0 && <p class="muted">{t(lang, "historyEmpty")}</p>}
      {rows.value && rows.value.length > 0 && (
        <table class="table">
          <tbody>
            {rows.value.map((row) => {
              const kind: TextKey = row.answeredAt
                ? (row.direction === "inbound" ? "historyIn" : "historyOut")
                : (row.direction === "inbound" ? "historyMissed" : "historyFailed");
              return (
                <tr key={row.id} class={row.answeredAt ? "" : "missed"}>
                  <td>
                    <span class={`dir ${row.direction}`} aria-hidden="true">
                      {row.direction === "inbound" ? "↙" : "↗"}
                    </span>{" "}
                    {t(lang, kind)}
                    {row.failedReason && <div class="muted reason">{row.failedReason}</div>}
                  </td>
                  <td class="num">{row.number}</td>
                  <td class="muted">{fmt.format(new Date(row.startedAt))}</td>
                  <td class="muted">
                    {row.answeredAt ? formatDuration(row.durationSec ?? 0) : ""}
                  </td>
                  <td class="muted">
                    {row.syncState === "pending" ? t(lang, "historySyncPending") : ""}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
