/**
 * `telephony.externalLine.add/update/get/delete` (scope `telephony`).
 *
 * @module
 */
import type { MethodContext, MethodSpec } from "../context.ts";
import { coreError } from "../errors.ts";
import { str, upperKeys } from "../params.ts";

function findLine(ctx: MethodContext, number: string) {
  if (number === "") throw coreError("NUMBER should not be empty");
  const line = ctx.state.lines.find((l) => l.number === number);
  if (!line) throw coreError(`Could not find line with number ${number}`);
  return line;
}

function add(ctx: MethodContext): unknown {
  const p = upperKeys(ctx.params);
  const number = str(p.NUMBER);
  if (number === "") throw coreError("NUMBER should not be empty");
  if (ctx.state.lines.some((l) => l.number === number)) throw coreError("Line already exists");
  const id = ctx.state.nextId();
  ctx.state.lines.push({
    id,
    number,
    name: str(p.NAME),
    crmAutoCreate: str(p.CRM_AUTO_CREATE).toUpperCase() === "N" ? "N" : "Y",
  });
  return { ID: id };
}

function update(ctx: MethodContext): unknown {
  const p = upperKeys(ctx.params);
  const line = findLine(ctx, str(p.NUMBER));
  if (p.NAME === undefined && p.CRM_AUTO_CREATE === undefined) {
    throw coreError("There are no fields to update");
  }
  if (p.NAME !== undefined) line.name = str(p.NAME);
  if (p.CRM_AUTO_CREATE !== undefined) {
    line.crmAutoCreate = str(p.CRM_AUTO_CREATE).toUpperCase() === "N" ? "N" : "Y";
  }
  return { ID: String(line.id) };
}

function remove(ctx: MethodContext): unknown {
  const line = findLine(ctx, str(upperKeys(ctx.params).NUMBER));
  ctx.state.lines.splice(ctx.state.lines.indexOf(line), 1);
  return [];
}

/** External line methods. */
export const LINE_METHODS: Record<string, MethodSpec> = {
  "telephony.externalline.add": { scopes: ["telephony"], run: add },
  "telephony.externalline.update": { scopes: ["telephony"], run: update },
  "telephony.externalline.delete": { scopes: ["telephony"], run: remove },
  "telephony.externalline.get": {
    scopes: ["telephony"],
    run: ({ state }) =>
      state.lines.map((l) => ({
        NUMBER: l.number,
        NAME: l.name,
        CRM_AUTO_CREATE: l.crmAutoCreate,
      })),
  },
};
