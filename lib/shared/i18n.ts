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
  tabsNotShared:
    "This browser keeps the phone in each Bitrix24 tab apart (third-party cookies are blocked), so every open tab registers a phone of its own and calls ring in each. To share one phone between tabs, allow cookies for this app's site in the browser's privacy settings.",
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
  fixUrl:
    "Enter the PBX's WebSocket address, starting with wss:// (e.g. wss://pbx.example.com:8089/ws).",
  fixUser: "Letters, digits and . _ ~ + - only.",
  fixPassword: "Enter the password (up to 128 characters).",
  fixSipUri: "An address like sip:101@pbx.example.com.",
  fixDisplayName: "Up to 100 characters.",
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
  // The phone's call panel, keyboard and connection status (issue 15 items 1, 4, 5, 6).
  endBusy: "Busy: the other side is on another call.",
  endDeclined: "The call was declined.",
  endNotFound: "This number does not exist. Check it and dial again.",
  endNoAnswer: "No answer.",
  endCancelled: "You cancelled the call.",
  endMicBlocked:
    "Not called: the browser blocks the microphone. Allow it in the site settings (the icon left of the address) and call again.",
  endUnreachable: "No connection to the PBX: the call could not be made.",
  endUnavailable: "The PBX could not connect the call now. Try again in a minute.",
  endForbidden: "The PBX does not allow calls to this number.",
  endFailed: "The call failed.",
  endHungUp: "Call ended",
  endRemoteHungUp: "The other side hung up",
  endYouDeclined: "You declined the call",
  endMissed: "Missed call",
  endMicBlockedIn:
    "Not answered: the browser blocks the microphone. Allow it in the site settings (the icon left of the address) and call back.",
  endTransferred: "The call was transferred",
  redial: "Call again",
  callBack: "Call back",
  close: "Close",
  micBlocked:
    "The browser blocks the microphone, so calls cannot be made or answered. Click the icon left of the address bar, allow Microphone for this site, then reload the page.",
  dtmfSent: "Tones sent",
  keyboardHint: "Type the number and press Enter. Esc hangs up.",
  callHint: "Call (Enter)",
  answerHint: "Answer (Enter)",
  declineHint: "Decline (Esc)",
  hangupHint: "Hang up (Esc)",
  muteHint: "Turn your microphone off: the other side stops hearing you",
  holdHint: "Put the call on hold",
  keypadHint: "Tone dialling: type digits on the keyboard or press these keys",
  transferHint: "Transfer the call to another number",
  transferredFrom: "Transferred from {who}",
  notifyEnable: "Notify me about incoming calls when this tab is hidden",
  titleIncoming: "Call from {who}",
  connLost: "Connection to the PBX lost, reconnecting…",
  connLostInCall: "Connection to the PBX lost, reconnecting — the current call continues.",
  connUnreachable: "The PBX cannot be reached. The phone keeps trying.",
  connBadCredentials:
    "The PBX does not accept your SIP login or password. Ask your Bitrix24 administrator to check your SIP account.",
  connBadCredentialsOwn:
    "The PBX does not accept your SIP login or password. Check them under Settings → My SIP account, or ask your Bitrix24 administrator.",
  connRejected: "The PBX refused to connect this phone. Ask your Bitrix24 administrator.",
  retry: "Retry",
  incomingKeys: "Enter answers · Esc declines",
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
  mute: "Выкл. звук",
  unmute: "Вкл. микрофон",
  hold: "Удержание",
  resume: "Продолжить",
  keypad: "Клавиши",
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
  tabsNotShared:
    "Этот браузер разделяет телефон по вкладкам Битрикс24 (сторонние cookie заблокированы): каждая открытая вкладка регистрирует свой телефон, и звонок звучит в каждой. Чтобы вкладки делили один телефон, разрешите cookie для сайта этого приложения в настройках приватности браузера.",
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
  fixUrl:
    "Укажите WebSocket-адрес АТС, начиная с wss:// (например, wss://pbx.example.com:8089/ws).",
  fixUser: "Только буквы, цифры и . _ ~ + -.",
  fixPassword: "Введите пароль (до 128 символов).",
  fixSipUri: "Адрес вида sip:101@pbx.example.com.",
  fixDisplayName: "До 100 символов.",
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
  // The phone's call panel, keyboard and connection status (issue 15 items 1, 4, 5, 6).
  endBusy: "Занято: абонент разговаривает по другой линии.",
  endDeclined: "Абонент отклонил звонок.",
  endNotFound: "Такого номера не существует. Проверьте номер и наберите снова.",
  endNoAnswer: "Абонент не ответил.",
  endCancelled: "Вы отменили звонок.",
  endMicBlocked:
    "Звонок не совершён: браузер запретил доступ к микрофону. Разрешите его в настройках сайта (значок слева от адреса) и позвоните снова.",
  endUnreachable: "Нет связи с АТС: позвонить не удалось.",
  endUnavailable: "АТС не смогла соединить звонок. Повторите через минуту.",
  endForbidden: "АТС не разрешает звонки на этот номер.",
  endFailed: "Звонок не удался.",
  endHungUp: "Звонок завершён",
  endRemoteHungUp: "Собеседник положил трубку",
  endYouDeclined: "Вы отклонили звонок",
  endMissed: "Пропущенный звонок",
  endMicBlockedIn:
    "Не удалось ответить: браузер запретил доступ к микрофону. Разрешите его в настройках сайта (значок слева от адреса) и перезвоните.",
  endTransferred: "Звонок переведён",
  redial: "Позвонить снова",
  callBack: "Перезвонить",
  close: "Закрыть",
  micBlocked:
    "Браузер запретил доступ к микрофону, поэтому звонить и отвечать нельзя. Нажмите значок слева от адресной строки, разрешите «Микрофон» для этого сайта и обновите страницу.",
  dtmfSent: "Набрано",
  keyboardHint: "Наберите номер и нажмите Enter. Esc — завершить звонок.",
  callHint: "Позвонить (Enter)",
  answerHint: "Ответить (Enter)",
  declineHint: "Отклонить (Esc)",
  hangupHint: "Завершить (Esc)",
  muteHint: "Выключить микрофон: собеседник перестанет вас слышать",
  holdHint: "Поставить звонок на удержание",
  keypadHint: "Тоновый набор: цифры с клавиатуры или этими кнопками",
  transferHint: "Перевести звонок на другой номер",
  transferredFrom: "Переведён от {who}",
  notifyEnable: "Сообщать о входящих звонках, когда вкладка скрыта",
  titleIncoming: "Звонит {who}",
  connLost: "Связь с АТС потеряна, переподключаемся…",
  connLostInCall: "Связь с АТС потеряна, переподключаемся — текущий разговор продолжается.",
  connUnreachable: "АТС недоступна. Телефон продолжает попытки подключиться.",
  connBadCredentials:
    "АТС не принимает ваш SIP-логин или пароль. Попросите администратора Битрикс24 проверить ваш SIP-аккаунт.",
  connBadCredentialsOwn:
    "АТС не принимает ваш SIP-логин или пароль. Проверьте их в разделе «Настройки» → «Мой SIP-аккаунт» или обратитесь к администратору Битрикс24.",
  connRejected: "АТС отказала в подключении этого телефона. Обратитесь к администратору Битрикс24.",
  retry: "Повторить",
  incomingKeys: "Enter — ответить · Esc — отклонить",
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

/** What to enter in each SIP account field, said next to it when the server refused it. */
const FIELD_FIX: Record<string, TextKey> = {
  url: "fixUrl",
  user: "fixUser",
  password: "fixPassword",
  sipUri: "fixSipUri",
  displayName: "fixDisplayName",
};

/**
 * The SIP account fields a `bad_request`'s `details` names, each with what to enter there in
 * `lang` (fields without such a text are left to {@link apiErrorText}).
 */
export function fieldFixes(lang: Lang, details: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(details)) return out;
  for (const issue of details as Partial<FieldIssue>[]) {
    const field = String(issue?.path ?? "").split(".").find((part) =>
      Object.hasOwn(FIELD_FIX, part)
    );
    if (field) out[field] = t(lang, FIELD_FIX[field]);
  }
  return out;
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
