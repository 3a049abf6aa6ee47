import { Layout } from "./Layout.tsx";

/** A page shown when a page request fails (no details beyond the safe message). */
export function ErrorPage({ message }: { message: string }) {
  return (
    <Layout title="Error" lang="en" scripts={[]}>
      <main class="card error-page">
        <div role="alert" aria-live="assertive">
          <h1>Что-то пошло не так · Something went wrong</h1>
          <p>{message}</p>
          <p class="muted">
            Обновите страницу. Если ошибка повторится, обратитесь к администратору Битрикс24.
            <br />Reload the page. If it repeats, ask your Bitrix24 administrator.
          </p>
        </div>
      </main>
    </Layout>
  );
}
