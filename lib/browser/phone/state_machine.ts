/**
 * A guarded finite-state machine: every transition is checked against an explicit edge table
 * and an illegal one throws {@link IllegalTransitionError}. Used for registration, the
 * connection, calls and journal delivery.
 *
 * Each machine's module draws its edges in its doc comment, one group per line, left to right:
 * `A, B ──label──▶ C` is the edges A→C and B→C, `◀──label──▶` goes both ways and a line may
 * chain (`A ──▶ B ──▶ C`). No vertical arrows, so that `state_machine_test.ts` can read every
 * drawn edge and check the drawing against the table.
 *
 * @module
 */
import { type Emitter, EmitterImpl } from "./emitter.ts";

/** Thrown when a transition is not in the machine's edge table. */
export class IllegalTransitionError extends Error {
  constructor(machine: string, from: string, to: string) {
    super(`${machine}: illegal transition ${from} -> ${to}`);
    this.name = "IllegalTransitionError";
  }
}

/** Allowed edges: for each state, the states it may move to. */
export type Edges<S extends string> = Readonly<Record<S, readonly S[]>>;

/** A state change as emitted by {@link StateMachine.stateChange}. */
export interface StateChange<S extends string> {
  from: S;
  to: S;
}

/** A state value guarded by an edge table. */
export class StateMachine<S extends string> {
  #state: S;
  readonly #edges: Edges<S>;
  readonly #name: string;
  readonly #changes = new EmitterImpl<StateChange<S>>();

  constructor(name: string, initial: S, edges: Edges<S>) {
    this.#name = name;
    this.#state = initial;
    this.#edges = edges;
  }

  /** The current state. */
  get state(): S {
    return this.#state;
  }

  /** Emits after every accepted transition. */
  get stateChange(): Emitter<StateChange<S>> {
    return this.#changes;
  }

  /** True when `to` is reachable from the current state in one step. */
  can(to: S): boolean {
    return this.#edges[this.#state].includes(to);
  }

  /** Moves to `to`; a self-transition is a no-op; an illegal edge throws. */
  transition(to: S): void {
    const from = this.#state;
    if (from === to) return;
    if (!this.can(to)) throw new IllegalTransitionError(this.#name, from, to);
    this.#state = to;
    this.#changes.emit({ from, to });
  }

  /** Like {@link transition} but returns false instead of throwing. */
  tryTransition(to: S): boolean {
    if (this.#state === to) return true;
    if (!this.can(to)) return false;
    this.transition(to);
    return true;
  }
}
