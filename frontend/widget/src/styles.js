// Everything lives inside the shadow root, so the host page's selectors never match it; the host
// element itself gets `all: initial` inline (see main.js) so inherited fonts and colours stop there.
export const CSS = `
:host { all: initial; }
* { box-sizing: border-box; margin: 0; padding: 0; font: inherit; color: inherit; letter-spacing: normal; }
.root { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; }
.launcher { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border-radius: 50%;
  border: 0; cursor: pointer; background: var(--sb-primary); color: var(--sb-text); font-size: 26px; display: flex;
  align-items: center; justify-content: center; box-shadow: 0 6px 20px rgba(0,0,0,.25); }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible, a:focus-visible {
  outline: 3px solid #f59e0b; outline-offset: 2px; }
.panel { position: fixed; right: 20px; bottom: 88px; width: 370px; height: min(600px, calc(100vh - 110px));
  display: flex; flex-direction: column; background: #fff; border-radius: 14px; overflow: hidden;
  box-shadow: 0 12px 40px rgba(0,0,0,.28); }
.panel[hidden] { display: none; }
.left .launcher, .left .panel { right: auto; left: 20px; }
header { display: flex; align-items: center; gap: 10px; padding: 12px 14px; background: var(--sb-primary); color: var(--sb-text); }
header img { width: 32px; height: 32px; border-radius: 50%; object-fit: cover; background: #fff; }
header h2 { flex: 1; font-size: 16px; font-weight: 600; }
header button { background: transparent; border: 0; color: var(--sb-text); font-size: 22px; cursor: pointer; width: 32px; height: 32px; }
.status { font-size: 12px; padding: 6px 14px; background: #fef3c7; color: #92400e; }
.status[hidden] { display: none; }
.log { flex: 1; overflow-y: auto; padding: 14px; display: flex; flex-direction: column; gap: 8px; background: #f9fafb; }
.msg { max-width: 85%; padding: 8px 12px; border-radius: 12px; white-space: normal; overflow-wrap: anywhere; }
.msg p + p, .msg ul, .msg ol { margin-top: 6px; }
.msg ul, .msg ol { padding-left: 20px; }
.msg code { font-family: ui-monospace, monospace; font-size: 13px; background: rgba(0,0,0,.06); padding: 0 3px; border-radius: 4px; }
.msg a { color: var(--sb-primary); text-decoration: underline; }
.msg strong { font-weight: 700; } .msg em { font-style: italic; }
.user { align-self: flex-end; background: var(--sb-primary); color: var(--sb-text); white-space: pre-wrap; }
.bot, .agent { align-self: flex-start; background: #fff; border: 1px solid #e5e7eb; }
.agent { border-color: #10b981; }
.failed { opacity: .55; }
.failed::after { content: " (not sent)"; font-size: 11px; }
.author { display: block; font-size: 11px; font-weight: 600; color: #047857; margin-bottom: 2px; }
.notice { align-self: center; font-size: 12px; color: #6b7280; text-align: center; }
.rating { align-self: center; display: flex; flex-wrap: wrap; align-items: center; justify-content: center; gap: 6px; font-size: 13px; }
.rating span { flex-basis: 100%; text-align: center; color: #374151; }
.rating button { width: 32px; height: 32px; border: 1px solid var(--sb-primary); color: var(--sb-primary); background: #fff; border-radius: 50%; cursor: pointer; font: inherit; }
.rating button:hover, .rating button:focus-visible { background: var(--sb-primary); color: var(--sb-text); }
.sources { font-size: 12px; margin-top: 6px; color: #4b5563; }
.sources a { margin-right: 8px; }
.replies { display: flex; flex-wrap: wrap; gap: 6px; align-self: flex-start; }
.replies button { border: 1px solid var(--sb-primary); color: var(--sb-primary); background: #fff; border-radius: 16px;
  padding: 5px 12px; cursor: pointer; font-size: 14px; }
.replies button:hover { background: var(--sb-primary); color: var(--sb-text); }
.typing { align-self: flex-start; display: flex; gap: 4px; padding: 10px 12px; background: #fff; border: 1px solid #e5e7eb; border-radius: 12px; }
.typing[hidden] { display: none; }
.typing span { width: 7px; height: 7px; border-radius: 50%; background: #9ca3af; animation: sb-blink 1s infinite; }
.typing span:nth-child(2) { animation-delay: .2s; } .typing span:nth-child(3) { animation-delay: .4s; }
@keyframes sb-blink { 0%, 80%, 100% { opacity: .3 } 40% { opacity: 1 } }
form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e5e7eb; background: #fff; }
textarea { flex: 1; resize: none; height: 40px; padding: 9px 10px; border: 1px solid #d1d5db; border-radius: 10px; font-size: 15px; background: #fff; color: #111827; }
form button { border: 0; border-radius: 10px; padding: 0 14px; background: var(--sb-primary); color: var(--sb-text); cursor: pointer; font-weight: 600; }
form button:disabled { opacity: .5; cursor: default; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) {
  .panel { right: 0; bottom: 0; width: 100vw; height: 100dvh; border-radius: 0; }
  .launcher { right: 14px; bottom: 14px; }
  .left .panel { left: 0; }
  .left .launcher { left: 14px; }
  textarea { font-size: 16px; } /* below 16px, iOS zooms the page when the field gets focus */
}
`;
