/**
 * What the server tells the page's script: the types of the configuration that `view.tsx`
 * embeds in the page as JSON, and `CONFIG_ELEMENT_ID`, where it goes.
 *
 * @module
 */
import type { FrameSpec } from "../registry.ts";

/** The id of the `<script type="application/json">` element holding the `ClientConfig`. */
export const CONFIG_ELEMENT_ID = "b24-portal-config";

/** A frame to insert and the id of the element it goes into. */
export interface ClientFrame extends FrameSpec {
  mount: string;
}

/** An employee the call card can transfer to. */
export interface TransferUser {
  id: number;
  name: string;
  phones: { label: string; number: string }[];
}

/** What the server tells the page's script. */
export interface ClientConfig {
  sessionId: string;
  userId: number;
  isAdmin: boolean;
  /** `/_portal/session/<id>`. */
  api: string;
  frames: ClientFrame[];
  /** The 12 states `CallCardGetListUiStates` answers. */
  uiStates: string[];
  /** Every state `CallCardSetUiState` accepts (CORE `UiState`, 15). */
  allUiStates: string[];
  /** PAGE_BACKGROUND_WORKER events (`BackgroundCallCard::…`, 17). */
  workerEvents: string[];
  bindEventDelayMs: number;
  /** The frames' `allow` attribute (`pages.frameAllow`). */
  frameAllow: string;
  text: Record<string, string>;
  users: TransferUser[];
  /** The app's id (slider URLs). */
  appId: number;
}
