import type { Analysis } from './analyzeRepository.js';
import { defaultVersion, jvmBuildImage, TOOLS } from './versions.js';

function ver(a: Analysis, tool: string): string {
  return a.versions[tool] ?? defaultVersion(tool);
}

/**
 * A multi-stage Dockerfile for the detected stack: pinned base images, dependencies installed
 * from the lockfile in their own layer, a non-root runtime user. Null for stacks without a
 * sensible generic image (the user writes their own).
 */
export function proposeDockerfile(a: Analysis): string | null {
  switch (a.language) {
    case 'go':
      return `# Proposed by pipeline-learner: review the build target and the port.
FROM golang:${ver(a, 'go')} AS build
WORKDIR /src
COPY go.mod ${a.lockfile === 'go.sum' ? 'go.sum ' : ''}./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/app .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/app /app
EXPOSE 8080
ENTRYPOINT ["/app"]
`;
    case 'node': {
      const lock = a.lockfile ? ` ${a.lockfile}` : '';
      const install =
        a.lockfile === 'package-lock.json'
          ? 'npm ci'
          : a.packageManager === 'npm' || !a.lockfile
            ? 'npm install'
            : `corepack enable && ${a.packageManager} install --frozen-lockfile`;
      const build = a.buildCommand ? `RUN ${a.buildCommand}\n` : '';
      const start = a.framework === 'nextjs' ? '["npm", "start"]' : '["npm", "start"]';
      return `# Proposed by pipeline-learner: review the start command and the port.
FROM node:${ver(a, 'node')}-slim AS build
WORKDIR /app
COPY package.json${lock} ./
RUN ${install}
COPY . .
${build}
FROM node:${ver(a, 'node')}-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app /app
USER node
EXPOSE 3000
CMD ${start}
`;
    }
    case 'python': {
      const cmd =
        a.framework === 'django'
          ? '["gunicorn", "--bind", "0.0.0.0:8000", "config.wsgi"]'
          : a.framework === 'fastapi'
            ? '["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]'
            : a.framework === 'flask'
              ? '["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]'
              : '["python", "-m", "app"]';
      const install =
        a.packageManager === 'poetry'
          ? `COPY pyproject.toml poetry.lock* ./\nRUN pip install --no-cache-dir poetry==${a.versions.poetry ?? TOOLS.poetry.version} && poetry config virtualenvs.create false && poetry install --only main --no-root`
          : a.packageManager === 'uv'
            ? `COPY pyproject.toml uv.lock* ./\nRUN pip install --no-cache-dir uv==${a.versions.uv ?? TOOLS.uv.version} && uv pip install --system -r pyproject.toml`
            : a.lockfile === 'requirements.txt'
              ? 'COPY requirements.txt ./\nRUN pip install --no-cache-dir -r requirements.txt'
              : 'COPY . .\nRUN pip install --no-cache-dir .';
      return `# Proposed by pipeline-learner: review the application module and the port.
FROM python:${ver(a, 'python')}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
${install}
COPY . .
RUN useradd --create-home app
USER app
EXPOSE 8000
CMD ${cmd}
`;
    }
    case 'java':
    case 'kotlin': {
      const maven = a.buildTool === 'maven';
      const builder = jvmBuildImage(maven, ver(a, 'java'));
      const build = maven
        ? 'mvn --batch-mode package -DskipTests'
        : 'gradle bootJar --no-daemon || gradle assemble --no-daemon';
      const jar = maven ? '/src/target/*.jar' : '/src/build/libs/*.jar';
      return `# Proposed by pipeline-learner: review the jar name and the port.
FROM ${builder} AS build
WORKDIR /src
COPY . .
RUN ${build}

FROM eclipse-temurin:${ver(a, 'java')}-jre
WORKDIR /app
COPY --from=build ${jar} app.jar
RUN useradd --system app
USER app
EXPOSE 8080
ENTRYPOINT ["java", "-jar", "/app/app.jar"]
`;
    }
    case 'rust':
      return `# Proposed by pipeline-learner: review the binary name and the port.
FROM rust:${ver(a, 'rust')} AS build
WORKDIR /src
COPY . .
RUN cargo build --release${a.lockfile === 'Cargo.lock' ? ' --locked' : ''} && find target/release -maxdepth 1 -type f -perm -u+x -exec cp {} /app \\;

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /app /app
EXPOSE 8080
ENTRYPOINT ["/app"]
`;
    case 'ruby':
      return `# Proposed by pipeline-learner: review the start command and the port.
FROM ruby:${ver(a, 'ruby')}-slim
RUN apt-get update -qq && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV BUNDLE_WITHOUT=development:test
COPY Gemfile Gemfile.lock* ./
RUN bundle install
COPY . .
RUN useradd --create-home app && chown -R app /app
USER app
EXPOSE 3000
CMD ${a.framework === 'rails' ? '["bin/rails", "server", "-b", "0.0.0.0"]' : '["bundle", "exec", "rackup", "--host", "0.0.0.0", "--port", "3000"]'}
`;
    case 'php':
      return `# Proposed by pipeline-learner: review the document root.
FROM composer:${TOOLS.composer.image} AS vendor
WORKDIR /app
COPY composer.json composer.lock* ./
RUN composer install --no-dev --no-scripts --prefer-dist --no-interaction
COPY . .

FROM php:${ver(a, 'php')}-apache
ENV APACHE_DOCUMENT_ROOT=/var/www/html/public
RUN sed -ri -e 's!/var/www/html!\${APACHE_DOCUMENT_ROOT}!g' /etc/apache2/sites-available/*.conf && a2enmod rewrite
COPY --from=vendor --chown=www-data:www-data /app /var/www/html
EXPOSE 80
`;
    case 'dotnet':
      return `# Proposed by pipeline-learner: review the project and assembly names.
FROM mcr.microsoft.com/dotnet/sdk:${ver(a, 'dotnet')} AS build
WORKDIR /src
COPY . .
RUN dotnet publish --configuration Release --output /out

FROM mcr.microsoft.com/dotnet/aspnet:${ver(a, 'dotnet')}
WORKDIR /app
COPY --from=build /out .
USER app
EXPOSE 8080
ENTRYPOINT ["dotnet", "App.dll"]
`;
    default:
      return null;
  }
}
