/**
 * The database floor of `bench/http.ts`: a bare `Deno.serve` that reads one portal row by
 * `member_id` per request with postgres.js (prepared, a pool of 10 like the app's), and
 * answers it as JSON. What any endpoint that reads the database once can reach on the
 * machine, for comparison. `PORT`, `DATABASE_URL` and `MEMBER_ID` come from the environment.
 *
 * @module
 */
import postgres from "postgres";

const sql = postgres(Deno.env.get("DATABASE_URL")!, { max: 10, onnotice: () => {} });
const memberId = Deno.env.get("MEMBER_ID")!;

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT")),
  onListen() {},
}, async (req) => {
  await req.body?.cancel();
  const [row] = await sql`select id, domain from portals where member_id = ${memberId}`;
  return Response.json(row ?? null);
});
