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
  installTitle: "SIP phone is installed",
  reinstallTitle: "SIP phone is updated",
  installDone: "The phone is connected to {domain}: call card, click-to-call and call journal.",
  installFinishing: "Finishing the installation…",
  installFinished: "Done. Assign SIP accounts to employees in the app.",
  installOutsideFrame: "Open this page from Bitrix24 to finish the installation.",
} as const;

/** The keys of the dictionary. */
export type TextKey = keyof typeof en;

const ru: Record<TextKey, string> = {
  appTitle: "SIP-телефон",
  loading: "Загрузка…",
  notInstalled: "Приложение ещё не установлено на этом портале.",
  errorTitle: "Что-то пошло не так",
  errorRetry: "Обновите страницу. Если ошибка повторится, обратитесь к администратору Битрикс24.",
  installTitle: "SIP-телефон установлен",
  reinstallTitle: "SIP-телефон обновлён",
  installDone: "Телефон подключён к {domain}: карточка звонка, звонки из CRM и журнал звонков.",
  installFinishing: "Завершаем установку…",
  installFinished: "Готово. Назначьте сотрудникам SIP-аккаунты в приложении.",
  installOutsideFrame: "Откройте эту страницу из Битрикс24, чтобы завершить установку.",
};

const dictionaries: Record<Lang, Record<TextKey, string>> = { en, ru };

/** The text of `key` in `lang`. */
export function t(lang: Lang, key: TextKey): string {
  return dictionaries[lang][key];
}
