const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** The twelve keys of a phone. */
export function Keypad({ onKey }: { onKey: (key: string) => void }) {
  return (
    <div class="keypad">
      {KEYS.map((k) => (
        <button
          type="button"
          key={k}
          class="key"
          onClick={() => onKey(k)}
          aria-label={k}
        >
          {k}
        </button>
      ))}
    </div>
  );
}
