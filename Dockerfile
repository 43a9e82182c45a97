# kbgp's image: built in one stage, run from a second that holds only the compiled CLI, its
# production dependencies and Node. deploy/kbgp.yaml runs it; test/deploy/manifests.test.ts checks
# the facts below that the DaemonSet relies on (stages, user, what is copied, the entrypoint).
#
#   docker build -t registry.example.com/kbgp:0.1.0 .

# --- build: compile TypeScript with the dev dependencies, then drop them ----------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so a source change reuses this layer. No install scripts: only esbuild
# (vitest's) has one, and the build needs none.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && chmod 0755 dist/cli/main.js
# What stays in node_modules is exactly what dist/ imports at run time.
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime --------------------------------------------------------------------------------
# Not distroless: the DaemonSet execs `node` straight from the container runtime, and that node
# binary must carry a file capability (below), which a distroless image gives no tool to set;
# `kubectl exec ... -- kbgp status` also wants a `kbgp` on PATH with /usr/bin/env for its
# shebang. npm, corepack, yarn and the C headers go, so the image has no package manager.
FROM node:20-bookworm-slim AS runtime
# Port 179 as a non-root user. Kubernetes adds a capability to the bounding and permitted sets
# but not to the ambient set (kubernetes/kubernetes#56374), so execve drops it for a non-root
# process unless the executable has it as a file capability. With it, the capability the pod
# adds (NET_BIND_SERVICE, nothing else) survives the exec even under allowPrivilegeEscalation:
# false, because it is already in the permitted set: nothing is gained. Without it in the
# pod's bounding set, node does not start at all (EPERM), which is loud, not subtle.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && setcap cap_net_bind_service=+ep /usr/local/bin/node \
 && setcap -v cap_net_bind_service=+ep /usr/local/bin/node \
 && apt-get purge -y --auto-remove libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
    /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
    /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* /usr/local/include \
 && groupadd --system --gid 65532 kbgp \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin kbgp \
 && ln -s /app/dist/cli/main.js /usr/local/bin/kbgp
ENV NODE_ENV=production
WORKDIR /app
# package.json is needed at run time: its "type": "module" makes dist/ ES modules.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Numeric, so the kubelet can check runAsNonRoot against the image itself.
USER 65532:65532
EXPOSE 179/tcp 9179/tcp
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["--help"]
