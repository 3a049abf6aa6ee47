import { assert, assertEquals } from "../../tests/support/assert.ts";
import { errorText, phoneErrorText } from "./error_text.ts";
import { ApiError } from "./frame_api.ts";
import { PhoneError } from "./phone/types.ts";
import { fieldFixes } from "../shared/i18n.ts";

const forbidden = new ApiError(403, "forbidden", "only a portal administrator can do this");

Deno.test("[error_text] an API error reads by its code, never the server's English", () => {
  assertEquals(errorText("ru", forbidden), "Это может сделать только администратор Битрикс24.");
  assertEquals(errorText("en", forbidden), "Only a Bitrix24 administrator can do this.");
});

Deno.test("[error_text] a bad request names the fields in the page's language", () => {
  const bad = new ApiError(400, "bad_request", "invalid request", [
    { path: "url", message: "must be a wss:// URL" },
    { path: "settings.iceServers.0.urls", message: "Invalid string" },
    { path: "url", message: "again" },
  ]);
  assertEquals(
    errorText("ru", bad),
    "Проверьте поля: WebSocket-сервер (wss://), Серверы STUN/TURN.",
  );
  assertEquals(
    errorText("en", new ApiError(400, "bad_request", "body must be JSON")),
    "Check the entered data.",
  );
});

Deno.test("[error_text] unknown codes and other failures read as the generic text", () => {
  const generic = "Что-то пошло не так. Повторите попытку.";
  assertEquals(errorText("ru", new ApiError(502, "http_error", "HTTP 502")), generic);
  assertEquals(errorText("ru", new ApiError(500, "constructor", "x")), generic);
  assertEquals(errorText("ru", new TypeError("Failed to fetch")), generic);
  assertEquals(errorText("ru", "a string"), generic);
});

Deno.test("[error_text] a phone error reads by its code", () => {
  assertEquals(
    errorText("en", new PhoneError("media-denied", "Permission denied")),
    "Microphone access is blocked. Allow it in the browser and try again.",
  );
  assertEquals(phoneErrorText("ru", "bad-credentials"), "АТС отклонила логин или пароль.");
  assertEquals(phoneErrorText("en", "invalid-state"), "Something went wrong. Try again.");
  assertEquals(phoneErrorText("en", undefined), "Something went wrong. Try again.");
});

Deno.test("[error_text] a refused SIP account field says what to enter, in the page's language", () => {
  const details = [
    { path: "url", message: "must be a wss:// URL" },
    { path: "user", message: "SIP login" },
    { path: "settings.crmCreate", message: "x" },
  ];
  const en = fieldFixes("en", details);
  assertEquals(Object.keys(en).sort(), ["url", "user"]);
  assert(en.url.includes("wss://"));
  assert(fieldFixes("ru", details).url.startsWith("Укажите"));
  assertEquals(fieldFixes("en", "nonsense"), {});
});
