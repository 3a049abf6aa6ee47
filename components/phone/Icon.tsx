/** The phone's icons: 24×24 line drawings in the text colour, hidden from screen readers. */
export type IconName =
  | "mic"
  | "mic-off"
  | "hold"
  | "keypad"
  | "transfer"
  | "call"
  | "hangup"
  | "redial";

// A handset lying flat (the hang-up sign); rotated it is the call/answer sign.
const HANDSET = "M2.5 14.5c5.3-5 13.7-5 19 0l-2.6 3.1-3.7-1.4v-2.7a11.5 11.5 0 0 0-6.4 0v2.7" +
  "l-3.7 1.4z";

export function Icon({ name }: { name: IconName }) {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width="22"
      height="22"
      aria-hidden="true"
      focusable="false"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
    >
      {(name === "mic" || name === "mic-off") && (
        <>
          <rect x="9" y="3" width="6" height="11" rx="3" />
          <path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7" />
          {name === "mic-off" && <path d="M4 4l16 16" />}
        </>
      )}
      {name === "hold" && <path d="M9 5v14M15 5v14" />}
      {name === "keypad" && (
        <g fill="currentColor" stroke="none">
          {[5, 12, 19].flatMap((x) =>
            [4, 10, 16].map((y) => <circle key={`${x}-${y}`} cx={x} cy={y} r="1.7" />)
          )}
          <circle cx="12" cy="21.5" r="1.7" />
        </g>
      )}
      {name === "transfer" && <path d="M4 12h15M14 6.5l5.5 5.5-5.5 5.5" />}
      {name === "hangup" && <path d={HANDSET} fill="currentColor" stroke="none" />}
      {name === "call" && (
        <path d={HANDSET} fill="currentColor" stroke="none" transform="rotate(-135 12 12)" />
      )}
      {name === "redial" && <path d="M20 12a8 8 0 1 1-2.4-5.7M20 4v4.5h-4.5" />}
    </svg>
  );
}
