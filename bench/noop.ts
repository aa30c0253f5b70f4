// The do-nothing baseline: what any compiled Bun binary costs to start and exit.
// It exits the way src/main.ts does, so the difference to unitsync is unitsync's own work.
process.exit(0);
