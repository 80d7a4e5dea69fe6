/** Prints rows as an aligned table: one column a key of the first row, numbers with two decimals unless whole. */
export function printTable(rows: Array<Record<string, string | number>>): void {
  const columns = Object.keys(rows[0] ?? {});
  const cell = (value: string | number) =>
    typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : value;
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => cell(row[column] ?? '').length)),
  );
  const line = (values: string[]) => values.map((value, index) => value.padStart(widths[index]!)).join('  ');
  process.stdout.write(`${line(columns)}\n${line(widths.map((width) => '-'.repeat(width)))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((column) => cell(row[column] ?? '')))}\n`);
}
