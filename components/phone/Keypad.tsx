const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/**
 * The twelve keys of a phone. They stay out of the Tab order: a keyboard user types the digits
 * (the page sends them where they belong), so Tab goes from the number straight to Call.
 */
export function Keypad({ onKey }: { onKey: (key: string) => void }) {
  return (
    <div class="keypad">
      {KEYS.map((k) => (
        <button
          type="button"
          key={k}
          class="key"
          tabIndex={-1}
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => onKey(k)}
          aria-label={k}
        >
          {k}
        </button>
      ))}
    </div>
  );
}
