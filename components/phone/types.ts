/** Runs a phone command; a failure shows in the phone's banner, in the page's language. */
export type RunCommand = (work: Promise<unknown>) => void;
