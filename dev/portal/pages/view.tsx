/**
 * The portal page markup (server-rendered Preact): left menu, header with the user and language
 * switchers, the view (CRM contacts, the app's page, a LEFT_MENU widget, the installer, the
 * applications page), the hidden PAGE_BACKGROUND_WORKER host, the call card, the developer bar,
 * and the page script with its configuration.
 *
 * @module
 */
import type { ComponentChildren } from "preact";
import { renderToString } from "preact-render-to-string";
import type { CrmEntity } from "../crm.ts";
import type { PortalUser } from "../users.ts";
import { type ClientConfig, CONFIG_ELEMENT_ID } from "./client/config.ts";
import type { TextKey } from "./i18n.ts";
import { PORTAL_CSS } from "./styles.ts";

/** Which page is shown. */
export type PageView = "crm" | "app" | "placement" | "installer" | "not-installed" | "apps";

/** A bound placement or event handler, for the applications page. */
export interface BindingRow {
  id: number;
  name: string;
  detail: string;
}

/** Everything the page markup needs. */
export interface PageModel {
  lang: string;
  text: Record<TextKey, string>;
  domain: string;
  user: PortalUser;
  users: PortalUser[];
  appName: string;
  view: PageView;
  title: string;
  /** `/page/<userId>`. */
  base: string;
  /** Query string (with `?`) that keeps the language. */
  langQuery: string;
  leftMenu: { id: number; title: string }[];
  /** `crm`, `app`, `apps` or `left-<placementId>`. */
  active: string;
  crm: CrmEntity[];
  notice: { warn: boolean; text: string } | null;
  /** Shown in the view instead of a frame. */
  message: string | null;
  /** The view embeds a frame here. */
  frameHost: string | null;
  app: {
    installed: boolean;
    installing: boolean;
    installUrl: string;
    /** client_id, CODE, member_id… */
    identity: [string, string][];
    placements: BindingRow[];
    handlers: BindingRow[];
  };
  config: ClientConfig;
}

function userName(u: PortalUser): string {
  return `${u.name} ${u.lastName}`.trim();
}

function Icon({ text }: { text: string }) {
  return <span class="b24-menu-icon" aria-hidden="true">{text}</span>;
}

function Menu({ m }: { m: PageModel }) {
  const t = m.text;
  const item = (key: string, href: string, label: string, icon: string, testid: string) => (
    <a
      class={`b24-menu-item${m.active === key ? " active" : ""}`}
      href={href}
      data-testid={testid}
      aria-current={m.active === key ? "page" : undefined}
    >
      <Icon text={icon} />
      {label}
    </a>
  );
  return (
    <aside class="b24-menu">
      <a class="b24-logo" href={`${m.base}${m.langQuery}`}>
        {t.portal.replace(/24$/, "")}
        <b>24</b>
      </a>
      <nav aria-label={t.menuApps}>
        {item("crm", `${m.base}${m.langQuery}`, t.menuContacts, "C", "menu-crm")}
        <div class="b24-menu-group">{t.menuApps}</div>
        {m.app.installed &&
          item("app", `${m.base}?placement=DEFAULT${amp(m)}`, m.appName, "☎", "menu-app")}
        {m.leftMenu.map((l) =>
          item(
            `left-${l.id}`,
            `${m.base}?placement=LEFT_MENU&id=${l.id}${amp(m)}`,
            l.title,
            "★",
            `menu-left-${l.id}`,
          )
        )}
        {item("apps", `${m.base}?view=apps${amp(m)}`, t.menuMarket, "M", "menu-apps")}
      </nav>
    </aside>
  );
}

function amp(m: PageModel): string {
  return m.langQuery ? `&${m.langQuery.slice(1)}` : "";
}

function Header({ m }: { m: PageModel }) {
  const t = m.text;
  return (
    <header class="b24-header">
      <input class="b24-search" type="search" placeholder={t.search} aria-label={t.search} />
      <div class="b24-header-right">
        <span class="b24-domain">{m.domain}</span>
        <form method="get" data-testid="user-switch-form">
          <select
            name="user"
            aria-label={t.user}
            data-testid="user-switch"
          >
            {m.users.filter((u) => u.active).map((u) => (
              <option value={String(u.id)} selected={u.id === m.user.id}>
                {userName(u)}
                {u.admin ? " ★" : ""}
              </option>
            ))}
          </select>
        </form>
        <select
          aria-label={t.language}
          data-testid="lang-switch"
        >
          {["ru", "en"].map((l) => (
            <option key={l} value={l} selected={l === m.lang}>{l.toUpperCase()}</option>
          ))}
        </select>
      </div>
    </header>
  );
}

function CrmView({ m }: { m: PageModel }) {
  const t = m.text;
  const responsible = (id: number) => {
    const u = m.users.find((x) => x.id === id);
    return u ? userName(u) : String(id);
  };
  return (
    <>
      <section class="b24-panel">
        <p class="b24-muted" style="margin-top:0">{t.crmHint}</p>
        <table class="b24-table" data-testid="crm-list">
          <thead>
            <tr>
              <th>{t.colName}</th>
              <th>{t.colType}</th>
              <th>{t.colPhone}</th>
              <th>{t.colResponsible}</th>
            </tr>
          </thead>
          <tbody>
            {m.crm.map((e) => (
              <tr data-testid={`crm-row-${e.type}-${e.id}`}>
                <td>{e.name}</td>
                <td>
                  <span class={`b24-type b24-type-${e.type}`}>
                    {t[`type${e.type}` as TextKey]}
                  </span>
                </td>
                <td>
                  {e.phones.map((p, i) => (
                    <span class="b24-phone">
                      {p}{" "}
                      <button
                        type="button"
                        class="b24-btn b24-btn-call"
                        data-testid={`crm-call-${e.type}-${e.id}${i ? `-${i}` : ""}`}
                        data-call-phone={p}
                        data-entity-type={e.type}
                        data-entity-id={String(e.id)}
                        aria-label={`${t.call} ${e.name} ${p}`}
                      >
                        {t.call}
                      </button>
                    </span>
                  ))}
                </td>
                <td>{responsible(e.assignedById)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="b24-panel">
        <h2>{t.dialTitle}</h2>
        <form class="b24-form-row" data-testid="crm-dial-form">
          <input
            class="b24-input"
            type="tel"
            data-testid="crm-dial-input"
            aria-label={t.dialTitle}
            placeholder={t.dialPlaceholder}
          />
          <button
            type="submit"
            class="b24-btn b24-btn-call"
            data-testid="crm-dial-call"
            aria-label={t.call}
          >
            {t.call}
          </button>
        </form>
      </section>
    </>
  );
}

function AppsView({ m }: { m: PageModel }) {
  const t = m.text;
  const a = m.app;
  const status = a.installed
    ? t.appStatusInstalled
    : a.installing
    ? t.appStatusInstalling
    : t.appStatusNotInstalled;
  const rows = (list: BindingRow[], testid: string) =>
    list.length === 0
      ? <p class="b24-muted">{t.nothing}</p>
      : (
        <table class="b24-table" data-testid={testid}>
          <tbody>
            {list.map((r) => (
              <tr>
                <td>#{r.id}</td>
                <td>{r.name}</td>
                <td class="b24-muted">{r.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      );
  return (
    <>
      <section class="b24-panel">
        <h2>{m.appName}</h2>
        <dl class="b24-kv" data-testid="app-identity">
          {a.identity.map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </>
          ))}
        </dl>
        <p data-testid="app-status">{status}</p>
        {m.user.admin && (
          <div class="b24-form-row">
            <form
              method="post"
              action={`${m.base}/install${m.langQuery}`}
              class="b24-form-row"
            >
              <input
                class="b24-input"
                name="handlerUrl"
                type="url"
                required
                value={a.installUrl}
                aria-label={t.installerUrl}
                placeholder={t.installerUrl}
                data-testid="install-url"
              />
              <button type="submit" class="b24-btn" data-testid="install-app">
                {a.installed ? t.reinstallButton : t.installButton}
              </button>
            </form>
            {(a.installed || a.installing) && (
              <form method="post" action={`${m.base}/uninstall${m.langQuery}`}>
                <button type="submit" class="b24-btn b24-btn-danger" data-testid="uninstall-app">
                  {t.uninstallButton}
                </button>
              </form>
            )}
          </div>
        )}
      </section>
      <section class="b24-panel">
        <h2>{t.placementsTitle}</h2>
        {rows(a.placements, "app-placements")}
      </section>
      <section class="b24-panel">
        <h2>{t.handlersTitle}</h2>
        {rows(a.handlers, "app-handlers")}
      </section>
    </>
  );
}

function Button(
  { name, testid, label, tone }: { name: string; testid: string; label: string; tone?: string },
) {
  return (
    <button
      type="button"
      class={`b24-card-btn${tone ? ` ${tone}` : ""}`}
      data-testid={`call-card-${testid}`}
      data-button={name}
      data-card-action={name}
      aria-label={label}
      hidden
    >
      {label}
    </button>
  );
}

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
const KEY_IDS: Record<string, string> = { "*": "star", "#": "hash" };

function CallCard({ m }: { m: PageModel }) {
  const t = m.text;
  const others = m.config.users.filter((u) => u.id !== m.user.id);
  return (
    <section
      class="b24-card"
      data-testid="call-card"
      role="dialog"
      aria-label={t.cardTitleIncoming}
      hidden
    >
      <div class="b24-card-head">
        <span class="b24-card-title" data-testid="call-card-title" />
        <span class="b24-card-state" data-testid="call-card-ui-state" />
      </div>
      <div class="b24-card-body">
        <div class="b24-card-number" data-testid="call-card-number" />
        <div class="b24-card-crm" data-testid="call-card-crm" />
        <div class="b24-card-line" data-testid="call-card-line" />
        <div class="b24-card-timer" data-testid="call-card-timer" hidden>00:00</div>
        <div class="b24-card-status" data-testid="call-card-status" role="status" />
      </div>
      <div class="b24-card-panel" data-testid="call-card-dialpad-panel" hidden>
        <div class="b24-keypad">
          {KEYS.map((k) => (
            <button
              type="button"
              data-card-action="key"
              data-value={k}
              data-testid={`call-card-key-${KEY_IDS[k] ?? k}`}
              aria-label={k}
            >
              {k}
            </button>
          ))}
        </div>
      </div>
      <div class="b24-card-panel" data-testid="call-card-transfer-panel" hidden>
        <div class="b24-card-crm">{t.transferTo}</div>
        <ul class="b24-transfer-list">
          {others.map((u) => (
            <li>
              <span class="who">{u.name}</span>
              <button
                type="button"
                class="b24-card-btn"
                data-card-action="transferTo"
                data-value={String(u.id)}
                data-testid={`call-card-transfer-user-${u.id}`}
                aria-label={`${t.transfer}: ${u.name}, ${t.innerCall}`}
              >
                {t.innerCall}
              </button>
              {u.phones.map((p, i) => (
                <button
                  type="button"
                  class="b24-card-btn"
                  data-card-action="transferTo"
                  data-value={p.number}
                  data-testid={`call-card-transfer-pstn-${u.id}-${i}`}
                  aria-label={`${t.transfer}: ${u.name}, ${p.number}`}
                >
                  {p.number}
                </button>
              ))}
            </li>
          ))}
        </ul>
        <form data-testid="call-card-transfer-form">
          <input
            data-testid="call-card-transfer-target"
            aria-label={t.phoneTarget}
            placeholder={t.phoneTarget}
          />
          <button
            type="submit"
            class="b24-card-btn blue"
            data-testid="call-card-transfer-submit"
            aria-label={t.send}
          >
            {t.send}
          </button>
        </form>
      </div>
      <div class="b24-card-panel" data-testid="call-card-quality-panel" hidden>
        <div class="b24-stars" role="group" aria-label={t.quality}>
          {[1, 2, 3, 4, 5].map((n) => (
            <button
              type="button"
              data-card-action="star"
              data-value={String(n)}
              data-testid={`call-card-quality-${n}`}
              aria-label={`${t.quality}: ${n}`}
            >
              ★
            </button>
          ))}
        </div>
      </div>
      <div class="b24-card-panel" data-testid="call-card-comment-box" hidden>
        <textarea
          rows={2}
          data-testid="call-card-comment-input"
          aria-label={t.comment}
          placeholder={t.commentPlaceholder}
        />
      </div>
      <div class="b24-card-buttons">
        <Button name="answer" testid="answer" label={t.answer} tone="green" />
        <Button name="skip" testid="skip" label={t.skip} tone="red" />
        <Button name="makeCall" testid="make-call" label={t.makeCall} tone="green" />
        <Button name="redial" testid="redial" label={t.redial} tone="green" />
        <Button name="hold" testid="hold" label={t.hold} />
        <Button name="mute" testid="mute" label={t.mute} />
        <Button name="quality" testid="quality" label={t.quality} />
        <Button name="transfer" testid="transfer" label={t.transfer} />
        <Button name="dialpad" testid="dialpad" label={t.dialpad} />
        <Button
          name="transferComplete"
          testid="transfer-complete"
          label={t.transferComplete}
          tone="blue"
        />
        <Button
          name="transferCancel"
          testid="transfer-cancel"
          label={t.transferCancel}
          tone="red"
        />
        <Button name="notifyAdmin" testid="notify-admin" label={t.notifyAdmin} tone="blue" />
        <Button name="hangup" testid="hangup" label={t.hangup} tone="red" />
        <Button name="close" testid="close" label={t.close} tone="red" />
        <button
          type="button"
          class="b24-card-btn"
          data-testid="call-card-comment"
          data-card-action="comment"
          aria-label={t.comment}
        >
          {t.comment}
        </button>
      </div>
    </section>
  );
}

function View({ m }: { m: PageModel }) {
  const t = m.text;
  let body: ComponentChildren;
  switch (m.view) {
    case "crm":
      body = <CrmView m={m} />;
      break;
    case "apps":
      body = <AppsView m={m} />;
      break;
    default:
      body = null;
  }
  return (
    <main class="b24-content">
      <h1 data-testid="page-title">{m.title}</h1>
      {m.notice && (
        <section
          class={`b24-panel b24-notice${m.notice.warn ? " warn" : ""}`}
          data-testid="notice"
          role="status"
        >
          {m.notice.text}
        </section>
      )}
      {m.message && (
        <section class="b24-panel b24-notice warn" data-testid="message">
          <p style="margin:0">{m.message}</p>
          {m.view === "not-installed" && m.user.admin && (
            <p style="margin:8px 0 0">
              <a href={`${m.base}?view=apps${amp(m)}`} data-testid="go-install">
                {t.installButton} →
              </a>
            </p>
          )}
        </section>
      )}
      {m.frameHost && <div id={m.frameHost} data-testid="frame-host" />}
      {body}
    </main>
  );
}

/** JSON for an inline `<script>`. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028|\u2029/g, "");
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * The whole page as HTML (the style and the script are inlined around the rendered body, the
 * script's configuration as JSON before it); `script` is the bundled page script.
 */
export function renderPage(m: PageModel, script: string): string {
  const t = m.text;
  const body = renderToString(
    <>
      <div class="b24">
        <Menu m={m} />
        <div class="b24-main">
          <Header m={m} />
          <View m={m} />
        </div>
      </div>
      <div class="b24-devbar">
        <details data-testid="workers-panel">
          <summary>{t.workers}</summary>
          <ul data-testid="worker-status">
            <li class="b24-muted">{t.workersNone}</li>
          </ul>
        </details>
        <details data-testid="protocol-panel">
          <summary>{t.protocolLog}</summary>
          <ol data-testid="protocol-log" reversed />
        </details>
      </div>
      <div id="bx-workers" class="b24-workers" aria-hidden="true" data-testid="workers" />
      <CallCard m={m} />
    </>,
  );
  return "<!DOCTYPE html>" +
    `<html lang="${escapeHtml(m.lang)}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<link rel="icon" href="data:,">` +
    `<title>${escapeHtml(`${m.title} — ${t.portal}`)}</title>` +
    `<style>${PORTAL_CSS}</style></head>` +
    `<body data-session-id="${escapeHtml(m.config.sessionId)}" data-user-id="${m.user.id}">` +
    `${body}<script type="application/json" id="${CONFIG_ELEMENT_ID}">${scriptJson(m.config)}` +
    `</script><script type="module">${script}</script></body></html>`;
}
