/**
 * The portal pages' stylesheet: Bitrix24's light theme (grey-blue page, left menu, white
 * panels, sky-blue accents, green call buttons) and a call card modelled on the standard one.
 *
 * @module
 */

/** The `<style>` of every portal page. */
export const PORTAL_CSS = `
:root {
  --b24-bg: #eef2f4; --b24-text: #333; --b24-muted: #828b95; --b24-line: #e6e9ec;
  --b24-blue: #2fc6f6; --b24-blue-dark: #2067b0; --b24-green: #9dcf00; --b24-green-dark: #7fb000;
  --b24-red: #ff5752; --b24-menu: #525c69; --b24-card: #1f3c55;
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body {
  font: 14px/1.45 "Open Sans", "Helvetica Neue", Helvetica, Arial, sans-serif;
  color: var(--b24-text);
  background: var(--b24-bg) linear-gradient(180deg, #d9eef9 0, var(--b24-bg) 260px) no-repeat;
  min-height: 100vh;
}
a { color: var(--b24-blue-dark); text-decoration: none; }
a:hover { text-decoration: underline; }
button { font: inherit; cursor: pointer; }
[hidden] { display: none !important; }
.b24 { display: flex; min-height: 100vh; }
.b24-menu { width: 240px; flex: none; padding: 14px 12px; }
.b24-logo { display: block; font-size: 24px; font-weight: 700; color: #0b66c3; padding: 2px 12px 18px; letter-spacing: -.5px; }
.b24-logo b { color: var(--b24-blue); }
.b24-logo:hover { text-decoration: none; }
.b24-menu nav { display: flex; flex-direction: column; gap: 2px; }
.b24-menu-group { margin: 16px 12px 6px; font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--b24-muted); }
.b24-menu-item { display: flex; align-items: center; gap: 10px; padding: 8px 12px; border-radius: 18px; color: var(--b24-menu); font-weight: 600; }
.b24-menu-item:hover { background: rgba(255,255,255,.6); text-decoration: none; }
.b24-menu-item.active { background: #fff; color: #0b66c3; box-shadow: 0 1px 2px rgba(0,0,0,.06); }
.b24-menu-icon { width: 22px; height: 22px; border-radius: 50%; background: var(--b24-blue); color: #fff; font-size: 11px; display: inline-flex; align-items: center; justify-content: center; flex: none; }
.b24-main { flex: 1; min-width: 0; display: flex; flex-direction: column; }
.b24-header { display: flex; align-items: center; gap: 16px; padding: 14px 24px 10px; }
.b24-search { flex: 1; max-width: 520px; border: 0; border-radius: 18px; padding: 8px 16px; background: rgba(255,255,255,.75); color: var(--b24-text); }
.b24-header-right { margin-left: auto; display: flex; align-items: center; gap: 12px; color: var(--b24-menu); }
.b24-header select { border: 1px solid var(--b24-line); border-radius: 16px; padding: 5px 10px; background: #fff; color: var(--b24-text); }
.b24-domain { font-size: 12px; color: var(--b24-muted); }
.b24-content { padding: 6px 24px 24px; }
.b24-content h1 { font-size: 26px; font-weight: 300; margin: 4px 0 16px; color: #333; }
.b24-panel { background: #fff; border-radius: 12px; box-shadow: 0 1px 3px rgba(82,92,105,.12); padding: 18px 20px; margin-bottom: 18px; }
.b24-panel h2 { font-size: 16px; font-weight: 600; margin: 0 0 12px; }
.b24-muted { color: var(--b24-muted); }
.b24-notice { border-left: 4px solid var(--b24-blue); }
.b24-notice.warn { border-left-color: #ffa900; }
.b24-table { width: 100%; border-collapse: collapse; }
.b24-table th { text-align: left; font-size: 12px; font-weight: 600; color: var(--b24-muted); text-transform: uppercase; letter-spacing: .04em; padding: 8px 10px; border-bottom: 1px solid var(--b24-line); }
.b24-table td { padding: 10px; border-bottom: 1px solid var(--b24-line); vertical-align: middle; }
.b24-table tr:last-child td { border-bottom: 0; }
.b24-table tr:hover td { background: #f7fafb; }
.b24-type { display: inline-block; font-size: 11px; padding: 2px 8px; border-radius: 10px; background: #e5f8fe; color: #1a8db3; font-weight: 600; }
.b24-type-COMPANY { background: #eef6e0; color: #5c8500; }
.b24-type-LEAD { background: #fff3dd; color: #b07400; }
.b24-phone { white-space: nowrap; margin-right: 10px; }
.b24-btn { border: 0; border-radius: 18px; padding: 7px 16px; font-weight: 600; font-size: 13px; background: var(--b24-blue); color: #fff; }
.b24-btn:hover { filter: brightness(1.06); }
.b24-btn-call { background: var(--b24-green); }
.b24-btn-call::before { content: "\\260E"; margin-right: 6px; }
.b24-btn-light { background: #fff; color: var(--b24-menu); border: 1px solid #c6cdd3; }
.b24-btn-danger { background: var(--b24-red); }
.b24-form-row { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.b24-input { border: 1px solid #c6cdd3; border-radius: 18px; padding: 7px 14px; min-width: 260px; }
.b24-kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
.b24-kv dt { color: var(--b24-muted); }
.b24-kv dd { margin: 0; word-break: break-all; }
.b24-frame-layout { width: 100%; height: 640px; border-radius: 12px; overflow: hidden; background: #fff; box-shadow: 0 1px 3px rgba(82,92,105,.12); }
.b24-frame { width: 100%; height: 100%; border: 0; display: block; background: #fff; }
.b24-workers { position: absolute; left: -10000px; top: 0; width: 1px; height: 1px; overflow: hidden; }
.b24-workers .b24-frame-layout { width: 1px; height: 1px; }
.b24-devbar { margin: 0 24px 24px 264px; font-size: 12px; }
.b24-devbar details { background: rgba(255,255,255,.7); border-radius: 10px; padding: 8px 14px; margin-bottom: 8px; }
.b24-devbar summary { cursor: pointer; color: var(--b24-menu); font-weight: 600; }
.b24-devbar ol, .b24-devbar ul { margin: 8px 0 0; padding-left: 40px; max-height: 260px; overflow: auto; font-family: ui-monospace, Menlo, Consolas, monospace; }
.b24-log-dropped { color: #c0392b; }
.b24-log-event { color: #1a8db3; }
.b24-log-card { color: #5c8500; }
/* call card */
.b24-card { position: fixed; right: 28px; bottom: 28px; width: 380px; z-index: 1000; border-radius: 14px; overflow: hidden; color: #fff;
  background: linear-gradient(160deg, #1f3c55 0%, #16293a 100%); box-shadow: 0 18px 50px rgba(20,40,60,.35); }
.b24-card-head { display: flex; align-items: center; gap: 10px; padding: 14px 16px 6px; }
.b24-card-title { flex: 1; font-size: 15px; font-weight: 600; }
.b24-card-state { font-size: 11px; padding: 2px 8px; border-radius: 10px; background: rgba(47,198,246,.22); color: #9fe6ff; }
.b24-card-body { padding: 4px 16px 12px; }
.b24-card-number { font-size: 24px; font-weight: 300; letter-spacing: .5px; }
.b24-card-crm, .b24-card-line { font-size: 12px; color: #b7c6d4; }
.b24-card-status { min-height: 20px; margin-top: 8px; color: #dfe9f1; }
.b24-card-timer { font-size: 28px; font-weight: 300; font-variant-numeric: tabular-nums; margin-top: 4px; }
.b24-card-buttons { display: flex; flex-wrap: wrap; gap: 8px; padding: 12px 16px 16px; border-top: 1px solid rgba(255,255,255,.08); }
.b24-card-btn { border: 0; border-radius: 20px; padding: 8px 14px; font-weight: 600; font-size: 13px; color: #fff; background: rgba(255,255,255,.12); }
.b24-card-btn:hover { background: rgba(255,255,255,.2); }
.b24-card-btn.active { background: var(--b24-blue); color: #0c2233; }
.b24-card-btn.green { background: var(--b24-green); }
.b24-card-btn.red { background: var(--b24-red); }
.b24-card-btn.blue { background: var(--b24-blue); color: #0c2233; }
.b24-card-panel { padding: 0 16px 14px; }
.b24-keypad { display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px; }
.b24-keypad button { border: 0; border-radius: 10px; padding: 10px 0; font-size: 18px; background: rgba(255,255,255,.1); color: #fff; }
.b24-keypad button:hover { background: rgba(255,255,255,.2); }
.b24-transfer-list { list-style: none; margin: 0 0 8px; padding: 0; max-height: 180px; overflow: auto; }
.b24-transfer-list li { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; padding: 4px 0; }
.b24-transfer-list .who { flex: 1 0 100%; font-size: 12px; color: #b7c6d4; }
.b24-card input, .b24-card textarea { width: 100%; border: 0; border-radius: 8px; padding: 8px 10px; font: inherit; }
.b24-card form { display: flex; gap: 6px; }
.b24-stars { display: flex; gap: 6px; }
.b24-stars button { border: 0; background: none; color: #ffd54a; font-size: 24px; padding: 0 2px; }
/* slider */
.b24-slider { position: fixed; inset: 0; z-index: 900; background: rgba(0,0,0,.3); display: flex; justify-content: flex-end; }
.b24-slider-panel { width: min(1100px, 86vw); height: 100%; background: var(--b24-bg); display: flex; flex-direction: column; box-shadow: -6px 0 24px rgba(0,0,0,.18); }
.b24-slider-head { display: flex; align-items: center; padding: 14px 20px; }
.b24-slider-head h2 { flex: 1; margin: 0; font-weight: 300; font-size: 22px; }
.b24-slider-close { border: 0; background: #fff; border-radius: 50%; width: 34px; height: 34px; font-size: 22px; line-height: 1; color: var(--b24-menu); }
.b24-slider-body { flex: 1; padding: 0 20px 20px; overflow: auto; }
.b24-slider-body .b24-frame-layout { height: 100%; }
`;
