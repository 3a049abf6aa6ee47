/**
 * Vault's answers: the JSON envelope of data and auth answers, `{"errors":[…]}` bodies, 204,
 * and `fail()`, which handlers throw to answer an error at once.
 *
 * @module
 */

/** Thrown inside handlers to answer right away; the server sends its `response`. */
export class Reply {
  constructor(readonly response: Response) {}
}

/** A JSON answer with `status`. */
export function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}

/** Answers `{"errors": errors}` with `status` (throws a `Reply`). */
export function fail(status: number, ...errors: string[]): never {
  throw new Reply(json(status, { errors }));
}

/** 204 No Content. */
export function noContent(): Response {
  return new Response(null, { status: 204 });
}

/** Vault's response envelope, with `fields` (`data`, `auth`, `warnings`, …) filled in. */
export function envelope(fields: Record<string, unknown>, status = 200): Response {
  return json(status, {
    request_id: crypto.randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: "",
    ...fields,
  });
}
