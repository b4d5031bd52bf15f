/** Versions used when the repository does not say; each is a maintained release line. */
export const DEFAULT_VERSIONS: Record<string, string> = {
  go: '1.24',
  node: '22',
  python: '3.12',
  java: '21',
  rust: '1.86',
  ruby: '3.3',
  php: '8.3',
  dotnet: '8.0',
  gcc: '14',
  // service images (official images; tags that exist on their registries)
  postgres: '17',
  mysql: '8.4',
  mariadb: '11.4',
  redis: '7',
  mongo: '8.0',
  rabbitmq: '4',
  elasticsearch: '8.17.4',
  opensearch: '2.19.1',
};
