import type { ComponentChildren } from "preact";

/** A choice of one audio device, or the browser's default. */
export function DeviceSelect(
  { label, defaultLabel, devices, value, disabled, onChange, children }: {
    label: string;
    defaultLabel: string;
    devices: MediaDeviceInfo[];
    value?: string;
    disabled?: boolean;
    onChange: (deviceId: string | undefined) => void;
    children?: ComponentChildren;
  },
) {
  return (
    <label class="field">
      <span>{label}</span>
      <select
        disabled={disabled}
        value={value ?? ""}
        onChange={(e) => onChange((e.target as HTMLSelectElement).value || undefined)}
      >
        <option value="">{defaultLabel}</option>
        {devices.map((d) => (
          <option value={d.deviceId} key={d.deviceId}>{d.label || d.deviceId}</option>
        ))}
      </select>
      {children}
    </label>
  );
}
