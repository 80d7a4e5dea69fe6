/** Inputs, options and input checks of the gradient-boosted trees (`gradientBoosting.ts`, ADR 0040). */

/** Dense row-major float matrix: `values[row * columns + column]`. */
export interface DenseMatrix {
  rows: number;
  columns: number;
  values: Float32Array;
}

export interface BoostingOptions {
  /** Maximum boosting rounds (each round adds one tree per class). */
  rounds: number;
  /** Shrinkage applied to every leaf value. */
  learningRate: number;
  maxDepth: number;
  /** Minimum training rows in each child of a split. */
  minLeaf: number;
  /** L2 penalty on leaf values (the `lambda` of `-G / (H + lambda)`). */
  l2: number;
  /** At most 255. */
  maxBins: number;
  /** Stop when the early-stopping fold's loss has not improved for this many rounds. */
  earlyStoppingRounds: number;
  /** Share of the rows held out for early stopping when no explicit early-stopping set is given. */
  earlyStoppingShare: number;
  /** Share of the features each tree may split on (1 = all), drawn with the seed. */
  featureShare: number;
  seed: number;
}

export const DEFAULT_BOOSTING_OPTIONS: BoostingOptions = {
  rounds: 300,
  learningRate: 0.1,
  maxDepth: 6,
  minLeaf: 20,
  l2: 1,
  maxBins: 255,
  earlyStoppingRounds: 20,
  earlyStoppingShare: 0.1,
  featureShare: 1,
  seed: 42,
};

export type BoostingErrorCode =
  | 'GBDT_EMPTY_INPUT'
  | 'GBDT_SHAPE_MISMATCH'
  | 'GBDT_NOT_FINITE'
  | 'GBDT_BAD_LABEL'
  | 'GBDT_BAD_OPTION';

/** Input the trainer refuses, with a stable code and what was expected. */
export class BoostingInputError extends Error {
  override name = 'BoostingInputError';
  constructor(
    readonly code: BoostingErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export function checkMatrix(matrix: DenseMatrix, what: string): void {
  if (matrix.rows <= 0 || matrix.columns <= 0)
    throw new BoostingInputError(
      'GBDT_EMPTY_INPUT',
      `${what} needs rows and columns, got ${matrix.rows} x ${matrix.columns}`,
    );
  if (matrix.values.length !== matrix.rows * matrix.columns)
    throw new BoostingInputError(
      'GBDT_SHAPE_MISMATCH',
      `${what}: expected ${matrix.rows * matrix.columns} values, got ${matrix.values.length}`,
    );
  for (let i = 0; i < matrix.values.length; i += 1) {
    if (!Number.isFinite(matrix.values[i] ?? Number.NaN))
      throw new BoostingInputError(
        'GBDT_NOT_FINITE',
        `${what}: value at row ${Math.floor(i / matrix.columns)}, column ${i % matrix.columns} is ${matrix.values[i]}`,
      );
  }
}

export function checkLabels(labels: Int32Array, rows: number, classes: number, what: string): void {
  if (labels.length !== rows)
    throw new BoostingInputError(
      'GBDT_SHAPE_MISMATCH',
      `${what}: expected ${rows} labels, got ${labels.length}`,
    );
  for (const label of labels) {
    if (!(label >= 0 && label < classes))
      throw new BoostingInputError(
        'GBDT_BAD_LABEL',
        `${what}: labels must lie in 0..${classes - 1}, got ${label}`,
      );
  }
}

export function checkOptions(options: BoostingOptions, classes: number): void {
  const bad = (message: string) => new BoostingInputError('GBDT_BAD_OPTION', message);
  if (!Number.isInteger(classes) || classes < 2) throw bad(`classes must be an integer >= 2, got ${classes}`);
  if (!Number.isInteger(options.rounds) || options.rounds < 1)
    throw bad(`rounds must be >= 1, got ${options.rounds}`);
  if (!(options.learningRate > 0)) throw bad(`learningRate must be > 0, got ${options.learningRate}`);
  if (!Number.isInteger(options.maxDepth) || options.maxDepth < 1)
    throw bad(`maxDepth must be >= 1, got ${options.maxDepth}`);
  if (!Number.isInteger(options.minLeaf) || options.minLeaf < 1)
    throw bad(`minLeaf must be >= 1, got ${options.minLeaf}`);
  if (!(options.l2 >= 0)) throw bad(`l2 must be >= 0, got ${options.l2}`);
  if (!Number.isInteger(options.maxBins) || options.maxBins < 2 || options.maxBins > 255)
    throw bad(`maxBins must be an integer in 2..255, got ${options.maxBins}`);
  if (!(options.earlyStoppingShare >= 0 && options.earlyStoppingShare < 1))
    throw bad(`earlyStoppingShare must lie in [0, 1), got ${options.earlyStoppingShare}`);
  if (!(options.featureShare > 0 && options.featureShare <= 1))
    throw bad(`featureShare must lie in (0, 1], got ${options.featureShare}`);
}
