/**
 * Russian and English texts of the pages and islands. The language comes from Bitrix24's
 * `LANG` (Russian for `ru`, `ua`, `by`, `kz`; English otherwise).
 *
 * @module
 */

/** Supported languages. */
export type Lang = "ru" | "en";

/** Picks the UI language from Bitrix24's `LANG` value. */
export function pickLang(bitrixLang: string | null | undefined): Lang {
  return ["ru", "ua", "by", "kz"].includes((bitrixLang ?? "").toLowerCase()) ? "ru" : "en";
}

const en = {
  appTitle: "SIP Phone",
  loading: "Loading…",
  notInstalled: "The app is not installed on this portal yet.",
  errorTitle: "Something went wrong",
  errorRetry: "Reload the page. If it repeats, ask your Bitrix24 administrator.",
} as const;

/** The keys of the dictionary. */
export type TextKey = keyof typeof en;

const ru: Record<TextKey, string> = {
  appTitle: "SIP-телефон",
  loading: "Загрузка…",
  notInstalled: "Приложение ещё не установлено на этом портале.",
  errorTitle: "Что-то пошло не так",
  errorRetry: "Обновите страницу. Если ошибка повторится, обратитесь к администратору Битрикс24.",
};

const dictionaries: Record<Lang, Record<TextKey, string>> = { en, ru };

/** The text of `key` in `lang`. */
export function t(lang: Lang, key: TextKey): string {
  return dictionaries[lang][key];
}
