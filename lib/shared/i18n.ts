/**
 * Russian and English texts of the pages and islands. The language comes from Bitrix24's
 * `LANG` (Russian for `ru`, `ua`, `by`, `kz`; English otherwise).
 *
 * @module
 */
import type { ApiErrorCode, FieldIssue } from "./api/errors.ts";

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
  tabPhone: "Phone",
  tabHistory: "History",
  tabSettings: "Settings",
  tabEmployees: "Employees",
  tabPortal: "Portal settings",
  tabCredentials: "App credentials",
  tabDiagnostics: "Diagnostics",
  regRegistered: "Online",
  regRegistering: "Connecting…",
  regUnregistered: "Offline",
  regFailed: "Not connected",
  regNoAccount: "No SIP account",
  errBadCredentials: "The PBX rejected the login or password.",
  errUnreachable: "The PBX cannot be reached. Check the network or the server address.",
  errRejected: "The PBX refused the registration.",
  errInvalidAccount: "The SIP account settings are invalid.",
  errMicrophone: "Microphone access is blocked. Allow it in the browser and try again.",
  noAccountUser: "You have no SIP account yet. Ask your Bitrix24 administrator to assign one.",
  number: "Phone number",
  numberPlaceholder: "Number or extension",
  call: "Call",
  answer: "Answer",
  decline: "Decline",
  hangup: "Hang up",
  mute: "Mute",
  unmute: "Unmute",
  hold: "Hold",
  resume: "Resume",
  keypad: "Keypad",
  transfer: "Transfer",
  transferTo: "Transfer to number",
  crmResponsible: "Responsible",
  transferToResponsible: "To the responsible",
  transferDo: "Transfer",
  incoming: "Incoming call",
  noCalls: "No active calls",
  stateDialing: "Dialing…",
  stateRinging: "Ringing…",
  stateIncoming: "Incoming call",
  stateConnecting: "Connecting…",
  stateConnected: "Connected",
  stateHeld: "On hold",
  stateEnding: "Ending…",
  stateEnded: "Ended",
  soundBlockedHere: "Click anywhere on this page so that calls can ring and be heard.",
  soundBlocked:
    "No sound: this Bitrix24 page does not let the phone play audio. Open the SIP phone app and click it once.",
  mobileClickToCall:
    "Not dialled: the call was started in the Bitrix24 mobile app while no browser phone of this employee was online. Open Bitrix24 in a browser and dial again.",
  historyEmpty: "No calls yet.",
  historyIn: "Incoming",
  historyOut: "Outgoing",
  historyMissed: "Missed",
  historyFailed: "Not answered",
  historySyncPending: "Waiting for Bitrix24",
  refresh: "Refresh",
  devices: "Audio devices",
  microphone: "Microphone",
  speaker: "Speaker",
  ringVolume: "Ringtone volume",
  defaultDevice: "Default",
  speakerUnsupported: "This browser cannot choose the speaker.",
  selfTest: "Connection test",
  selfTestRun: "Run test",
  testWebsocket: "PBX WebSocket reachable",
  testRegistration: "Registered on the PBX",
  testMicrophone: "Microphone level",
  testOk: "OK",
  testFail: "Failed",
  testRunning: "Checking…",
  myAccount: "My SIP account",
  wsUrl: "WebSocket server (wss://)",
  sipLogin: "SIP login",
  sipPassword: "SIP password",
  sipUri: "SIP URI (optional)",
  displayName: "Display name",
  passwordUnchanged: "Unchanged",
  save: "Save",
  saved: "Saved",
  saving: "Saving…",
  remove: "Remove",
  removeConfirm: "Remove this SIP account? The employee's phone stops working.",
  removeYes: "Yes, remove",
  removed: "Removed",
  edit: "Edit",
  cancel: "Cancel",
  testRegister: "Test registration",
  testRegisterOk: "Registration succeeded",
  testNeedsPassword: "Enter the password to test",
  search: "Search employees",
  notAssigned: "Not assigned",
  loadMore: "Show more",
  employeesTotal: "employees",
  crmCreate: "Create CRM leads for unknown numbers",
  showCard: "Show the Bitrix24 call card",
  usersEditOwn: "Employees may edit their own SIP account",
  iceServers: "STUN/TURN servers",
  iceServersHint: "One per line: stun:host:port or turn:host:port username password",
  callRetentionDays: "Keep call history (days)",
  callRetentionHint:
    "Older calls are deleted from this app (30–3650; Bitrix24 keeps its own history)",
  clientId: "Application ID (client_id)",
  clientSecret: "Application key (client_secret)",
  credentialsHint:
    "For a local application: copy both from the application's settings in Bitrix24.",
  credentialsSaved: "Credentials saved",
  marketplaceApp: "This is a Marketplace application: its credentials are managed by the provider.",
  placementErrors: "Reports from Bitrix24",
  placementErrorsNone: "Bitrix24 has reported no problems.",
  blockedPaymentRequired:
    "Bitrix24 asks for payment: calls will be sent to Bitrix24 after the subscription is renewed.",
  blockedInvalidClient:
    "Bitrix24 does not recognise the app (invalid_client): calls will be sent once the app's client id and secret are accepted again.",
  errorGeneric: "Something went wrong. Try again.",
  apiBadRequest: "Check the entered data.",
  apiBadFields: "Check these fields: {fields}.",
  apiUnauthorized: "Your Bitrix24 session has expired. Reload the page.",
  apiForbidden: "Only a Bitrix24 administrator can do this.",
  apiNotFound: "Not found: it may have been removed already.",
  apiConflict: "This was changed at the same time by someone else. Reload and try again.",
  apiPayloadTooLarge: "Too much data in one request.",
  apiRateLimited: "Too many requests. Wait a minute and try again.",
  apiUpstreamError: "Bitrix24 or another service answered with an error. Try again later.",
  apiUnavailable: "The service is temporarily unavailable. Try again in a minute.",
  errNotRegistered: "The phone is not connected to the PBX.",
  errMediaFailed: "The call's audio could not be set up.",
  adminTitle: "Administration",
  serverTokensDead:
    "The app's server-side access to Bitrix24 has expired and calls are not saved to Bitrix24. Open the app from the portal's menu as an administrator to renew it.",
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
  tabPhone: "Телефон",
  tabHistory: "История",
  tabSettings: "Настройки",
  tabEmployees: "Сотрудники",
  tabPortal: "Настройки портала",
  tabCredentials: "Ключи приложения",
  tabDiagnostics: "Диагностика",
  regRegistered: "В сети",
  regRegistering: "Подключение…",
  regUnregistered: "Не в сети",
  regFailed: "Нет подключения",
  regNoAccount: "Нет SIP-аккаунта",
  errBadCredentials: "АТС отклонила логин или пароль.",
  errUnreachable: "АТС недоступна. Проверьте сеть или адрес сервера.",
  errRejected: "АТС отказала в регистрации.",
  errInvalidAccount: "Настройки SIP-аккаунта заданы неверно.",
  errMicrophone: "Доступ к микрофону запрещён. Разрешите его в браузере и повторите.",
  noAccountUser: "У вас ещё нет SIP-аккаунта. Попросите администратора Битрикс24 назначить его.",
  number: "Номер телефона",
  numberPlaceholder: "Номер или внутренний",
  call: "Позвонить",
  answer: "Ответить",
  decline: "Отклонить",
  hangup: "Завершить",
  mute: "Выкл. микрофон",
  unmute: "Вкл. микрофон",
  hold: "Удержать",
  resume: "Продолжить",
  keypad: "Клавиатура",
  transfer: "Перевести",
  transferTo: "Перевести на номер",
  crmResponsible: "Ответственный",
  transferToResponsible: "Ответственному",
  transferDo: "Перевести",
  incoming: "Входящий звонок",
  noCalls: "Нет активных звонков",
  stateDialing: "Набор номера…",
  stateRinging: "Идёт вызов…",
  stateIncoming: "Входящий звонок",
  stateConnecting: "Соединение…",
  stateConnected: "Разговор",
  stateHeld: "На удержании",
  stateEnding: "Завершение…",
  stateEnded: "Завершён",
  soundBlockedHere: "Щёлкните в любом месте этой страницы, чтобы звонки было слышно.",
  soundBlocked:
    "Нет звука: эта страница Битрикс24 не даёт телефону воспроизводить звук. Откройте приложение SIP-телефона и щёлкните в нём.",
  mobileClickToCall:
    "Не набран: звонок начат в мобильном приложении Битрикс24, когда браузерный телефон сотрудника не был в сети. Откройте Битрикс24 в браузере и наберите номер снова.",
  historyEmpty: "Звонков пока нет.",
  historyIn: "Входящий",
  historyOut: "Исходящий",
  historyMissed: "Пропущенный",
  historyFailed: "Без ответа",
  historySyncPending: "Ожидает передачи в Битрикс24",
  refresh: "Обновить",
  devices: "Аудиоустройства",
  microphone: "Микрофон",
  speaker: "Динамик",
  ringVolume: "Громкость звонка",
  defaultDevice: "По умолчанию",
  speakerUnsupported: "Этот браузер не позволяет выбрать динамик.",
  selfTest: "Проверка связи",
  selfTestRun: "Проверить",
  testWebsocket: "WebSocket АТС доступен",
  testRegistration: "Регистрация на АТС",
  testMicrophone: "Уровень микрофона",
  testOk: "ОК",
  testFail: "Ошибка",
  testRunning: "Проверяем…",
  myAccount: "Мой SIP-аккаунт",
  wsUrl: "WebSocket-сервер (wss://)",
  sipLogin: "SIP-логин",
  sipPassword: "SIP-пароль",
  sipUri: "SIP URI (необязательно)",
  displayName: "Отображаемое имя",
  passwordUnchanged: "Не изменён",
  save: "Сохранить",
  saved: "Сохранено",
  saving: "Сохраняем…",
  remove: "Удалить",
  removeConfirm: "Удалить эту SIP-учётную запись? Телефон сотрудника перестанет работать.",
  removeYes: "Да, удалить",
  removed: "Удалено",
  edit: "Изменить",
  cancel: "Отмена",
  testRegister: "Проверить регистрацию",
  testRegisterOk: "Регистрация прошла успешно",
  testNeedsPassword: "Введите пароль для проверки",
  search: "Поиск сотрудников",
  notAssigned: "Не назначен",
  loadMore: "Показать ещё",
  employeesTotal: "сотрудников",
  crmCreate: "Создавать лиды в CRM для неизвестных номеров",
  showCard: "Показывать карточку звонка Битрикс24",
  usersEditOwn: "Сотрудники могут менять свой SIP-аккаунт",
  iceServers: "Серверы STUN/TURN",
  iceServersHint: "По одному в строке: stun:хост:порт или turn:хост:порт логин пароль",
  callRetentionDays: "Хранить историю звонков (дней)",
  callRetentionHint:
    "Более старые звонки удаляются из приложения (30–3650; в Битрикс24 остаётся своя история)",
  clientId: "Код приложения (client_id)",
  clientSecret: "Ключ приложения (client_secret)",
  credentialsHint:
    "Для локального приложения: скопируйте оба значения из настроек приложения в Битрикс24.",
  credentialsSaved: "Ключи сохранены",
  marketplaceApp: "Это приложение из Маркетплейса: ключами управляет разработчик.",
  placementErrors: "Сообщения от Битрикс24",
  placementErrorsNone: "Битрикс24 не сообщал о проблемах.",
  blockedPaymentRequired:
    "Битрикс24 требует оплаты: звонки будут переданы в Битрикс24 после продления подписки.",
  blockedInvalidClient:
    "Битрикс24 не узнаёт приложение (invalid_client): звонки будут переданы, когда код и ключ приложения снова примут.",
  errorGeneric: "Что-то пошло не так. Повторите попытку.",
  apiBadRequest: "Проверьте введённые данные.",
  apiBadFields: "Проверьте поля: {fields}.",
  apiUnauthorized: "Сеанс Битрикс24 истёк. Обновите страницу.",
  apiForbidden: "Это может сделать только администратор Битрикс24.",
  apiNotFound: "Не найдено: возможно, это уже удалено.",
  apiConflict: "Данные одновременно изменил кто-то другой. Обновите страницу и повторите.",
  apiPayloadTooLarge: "Слишком много данных в одном запросе.",
  apiRateLimited: "Слишком много запросов. Подождите минуту и повторите.",
  apiUpstreamError: "Битрикс24 или другой сервис ответил ошибкой. Повторите позже.",
  apiUnavailable: "Сервис временно недоступен. Повторите через минуту.",
  errNotRegistered: "Телефон не подключён к АТС.",
  errMediaFailed: "Не удалось установить звук звонка.",
  adminTitle: "Администрирование",
  serverTokensDead:
    "Серверный доступ приложения к Битрикс24 истёк, звонки не сохраняются в Битрикс24. Откройте приложение из меню портала под администратором, чтобы обновить его.",
};

const dictionaries: Record<Lang, Record<TextKey, string>> = { en, ru };

/** The text of `key` in `lang`. */
export function t(lang: Lang, key: TextKey): string {
  return dictionaries[lang][key];
}

const API_ERROR_TEXT: Record<ApiErrorCode, TextKey> = {
  bad_request: "apiBadRequest",
  unauthorized: "apiUnauthorized",
  forbidden: "apiForbidden",
  not_found: "apiNotFound",
  method_not_allowed: "apiBadRequest",
  conflict: "apiConflict",
  payload_too_large: "apiPayloadTooLarge",
  rate_limited: "apiRateLimited",
  upstream_error: "apiUpstreamError",
  unavailable: "apiUnavailable",
  internal: "errorGeneric",
};

/** The form labels of the request fields a `bad_request` may name. */
const FIELD_TEXT: Record<string, TextKey> = {
  url: "wsUrl",
  user: "sipLogin",
  password: "sipPassword",
  sipUri: "sipUri",
  displayName: "displayName",
  clientId: "clientId",
  secretId: "clientSecret",
  iceServers: "iceServers",
  callRetentionDays: "callRetentionDays",
};

/**
 * The text of an API error `code` in `lang` (the server's own messages are English and never
 * shown): a `bad_request` names the fields its `details` list; an unknown code (a proxy's error
 * page) reads as the generic text.
 */
export function apiErrorText(lang: Lang, code: string, details?: unknown): string {
  if (code === "bad_request") {
    const fields = fieldLabels(lang, details);
    if (fields.length) return t(lang, "apiBadFields").replace("{fields}", fields.join(", "));
  }
  return t(
    lang,
    Object.hasOwn(API_ERROR_TEXT, code) ? API_ERROR_TEXT[code as ApiErrorCode] : "errorGeneric",
  );
}

function fieldLabels(lang: Lang, details: unknown): string[] {
  if (!Array.isArray(details)) return [];
  const labels = details.map((issue: Partial<FieldIssue>) => {
    const key = String(issue?.path ?? "").split(".").find((part) =>
      Object.hasOwn(FIELD_TEXT, part)
    );
    return key ? t(lang, FIELD_TEXT[key]) : undefined;
  });
  return [...new Set(labels.filter((label) => label !== undefined))];
}
