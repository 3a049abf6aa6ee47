import { apiErrorText } from "../lib/shared/i18n.ts";
import { Layout } from "./Layout.tsx";

/**
 * A page shown when a page request fails. The page's language is not known when a request
 * fails this early, so the error's code is told in both languages (never the server's English
 * message, never details).
 */
export function ErrorPage({ code }: { code: string }) {
  return (
    <Layout title="Ошибка · Error" lang="ru" scripts={[]}>
      <main class="card error-page">
        <div role="alert" aria-live="assertive">
          <h1>Что-то пошло не так · Something went wrong</h1>
          <p lang="ru">{apiErrorText("ru", code)}</p>
          <p lang="en">{apiErrorText("en", code)}</p>
          <p class="muted">
            Обновите страницу. Если ошибка повторится, обратитесь к администратору Битрикс24.
            <br />
            <span lang="en">Reload the page. If it repeats, ask your Bitrix24 administrator.</span>
          </p>
        </div>
      </main>
    </Layout>
  );
}
