# syntax=docker/dockerfile:1
# pipeline-learner: the webhook service, worker and API. `.ci/run` replays this file's build steps
# (.ci/replay-dockerfile.mjs) and exercises the resulting tree, since CI has no Docker engine.
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20.20-bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="pipeline-learner" \
      org.opencontainers.image.description="Writes .gitlab-ci.yml pipelines and learns from every pipeline that runs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://gitlab.com/devops/pipeline-learner"
ENV NODE_ENV=production DATA_DIR=/data PORT=8080
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY ci-components ./ci-components
COPY templates ./templates
RUN mkdir -p /data && chown node:node /data
# never root: the embedded store and the spool live in /data, owned by `node`
USER node
VOLUME ["/data"]
EXPOSE 8080
# node is PID 1 here and handles SIGTERM itself: it stops accepting, drains running jobs for up to
# PIPELINE_LEARNER_DRAIN_TIMEOUT_S (default 30) and exits; give `docker stop -t` / compose's
# stop_grace_period a little more than that.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
