# The app image: dependencies, browser bundles and the module graph are all prepared at build
# time, so a container needs no network access to npm and writes nothing to its filesystem.
# The same image runs the one-shot `migrate` and `vault-init` services of docker-compose.yml.
FROM denoland/deno:2.9.6

ENV DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1
WORKDIR /app

# Dependencies first (cached while deno.json and deno.lock do not change).
COPY deno.json deno.lock ./
RUN deno install --frozen

COPY . .
# Bundles into static/build/; every entry point compiled into the cache; the directory that
# vault-init shares with the app through a volume, owned by the app's user.
RUN deno task build \
 && deno cache main.ts tasks/db_migrate.ts tasks/rotate_key.ts deploy/vault_init.ts \
 && install -d -o deno -g deno -m 0700 /run/vault-approle

# Files stay root-owned and read-only to the app: it runs as `deno` (uid 1993).
USER deno
ENV HOST=0.0.0.0 \
    PORT=8000
EXPOSE 8000
# The V8 heap is capped (as in `deno task start`): V8 sizes its limit from the memory it is given
# (the host's, or the container's limit when one is set) and grows the heap to ~140 MB under load
# although ~35 MB stay live; capped, it stays near 50 MB (README, "Performance and reliability").
CMD ["deno", "run", "--v8-flags=--max-heap-size=128", "--allow-net", "--allow-env", "--allow-sys", "--allow-read=/app,/run/vault-approle", "main.ts"]
