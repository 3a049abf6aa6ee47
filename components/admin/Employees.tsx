import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { type Lang, t } from "../../lib/shared/i18n.ts";
import type { Employee, FrameApi } from "../../lib/browser/frame_api.ts";
import { errorText } from "../../lib/browser/error_text.ts";
import { AccountEditor } from "./AccountEditor.tsx";

/** The portal's employees with their SIP accounts: search, page on, edit one at a time. */
export function Employees({ lang, api }: { lang: Lang; api: FrameApi }) {
  const search = useSignal("");
  const users = useSignal<Employee[] | null>(null);
  const next = useSignal<number | null>(null);
  const total = useSignal(0);
  const error = useSignal("");
  const editing = useSignal<number | null>(null);
  const notice = useSignal("");
  const load = async (start = 0) => {
    error.value = "";
    if (start === 0) users.value = null;
    try {
      const page = await api.widget("GETPORTALUSERS", {
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
      <p class="muted" role="status" data-testid="employees-notice">{notice}</p>
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
                onClick={() => {
                  notice.value = "";
                  editing.value = editing.value === user.id ? null : user.id;
                }}
              >
                {t(lang, "edit")}
              </button>
            </div>
            {editing.value === user.id && (
              <AccountEditor
                lang={lang}
                api={api}
                user={user}
                onDone={(text) => {
                  editing.value = null;
                  notice.value = text;
                  load();
                }}
                onCancel={() => editing.value = null}
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
