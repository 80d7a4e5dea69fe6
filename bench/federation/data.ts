/**
 * The static data of the federation benchmark's four subgraphs: the same shape and sizes as The Guild's
 * gateways benchmark workload (6 users, 9 products with inventory, 11 reviews over 4 products), written here.
 */

/** A user of the accounts subgraph. */
export interface BenchUser {
  id: string;
  name: string;
  username: string;
  birthday: number;
}

/** A product of the products subgraph. */
export interface BenchProduct {
  upc: string;
  name: string;
  price: number;
  weight: number;
}

/** A review of the reviews subgraph. */
export interface BenchReview {
  id: string;
  body: string;
  productUpc: string;
}

export const USERS: readonly BenchUser[] = [
  { id: '1', name: 'Ada Lovelace', username: 'ada', birthday: 1234567890 },
  { id: '2', name: 'Alan Turing', username: 'alan', birthday: 1234567890 },
  { id: '3', name: 'Grace Hopper', username: 'grace', birthday: 1234567890 },
  { id: '4', name: 'Edsger Dijkstra', username: 'edsger', birthday: 1234567890 },
  { id: '5', name: 'Barbara Liskov', username: 'barbara', birthday: 1234567890 },
  { id: '6', name: 'Donald Knuth', username: 'donald', birthday: 1234567890 },
];

export const PRODUCTS: readonly BenchProduct[] = [
  { upc: '1', name: 'Table', price: 899, weight: 100 },
  { upc: '2', name: 'Couch', price: 1299, weight: 1000 },
  { upc: '3', name: 'Glass', price: 15, weight: 20 },
  { upc: '4', name: 'Chair', price: 499, weight: 100 },
  { upc: '5', name: 'TV', price: 1299, weight: 1000 },
  { upc: '6', name: 'Lamp', price: 6999, weight: 300 },
  { upc: '7', name: 'Grill', price: 3999, weight: 2000 },
  { upc: '8', name: 'Fridge', price: 100000, weight: 6000 },
  { upc: '9', name: 'Sofa', price: 9999, weight: 800 },
];

/** In stock per upc (inventory subgraph). */
export const IN_STOCK: ReadonlyMap<string, boolean> = new Map([
  ['1', true],
  ['2', false],
  ['3', false],
  ['4', false],
  ['5', true],
  ['6', true],
  ['7', true],
  ['8', false],
  ['9', true],
]);

/** Review text of about the lengths the benchmark uses (450, 290, 270, 140 and 900 characters). */
function words(count: number, seed: number): string {
  const vocabulary = [
    'the',
    'table',
    'arrived',
    'quickly',
    'and',
    'looks',
    'solid',
    'although',
    'assembly',
    'took',
    'longer',
    'than',
    'expected',
    'because',
    'several',
    'screws',
    'were',
    'missing',
    'from',
    'box',
  ];
  const out: string[] = [];
  for (let index = 0; index < count; index += 1)
    out.push(vocabulary[(index * 7 + seed) % vocabulary.length] ?? 'and');
  return `${out.join(' ')}.`;
}
const LONG = words(75, 1);
const MEDIUM = words(48, 2);
const SHORTER = words(45, 3);
const SHORT = words(23, 4);
const LONGEST = words(150, 5);

export const REVIEWS: readonly BenchReview[] = [
  { id: '1', body: LONG, productUpc: '1' },
  { id: '2', body: MEDIUM, productUpc: '1' },
  { id: '3', body: SHORTER, productUpc: '1' },
  { id: '4', body: SHORT, productUpc: '1' },
  { id: '5', body: LONG, productUpc: '2' },
  { id: '6', body: MEDIUM, productUpc: '2' },
  { id: '7', body: SHORTER, productUpc: '2' },
  { id: '8', body: SHORT, productUpc: '2' },
  { id: '9', body: SHORT, productUpc: '3' },
  { id: '10', body: SHORT, productUpc: '4' },
  { id: '11', body: LONGEST, productUpc: '4' },
];

/**
 * The benchmark's nested query (k6 scenario): users with their reviews' products' reviews' authors' reviews, and
 * the top products the same way down.
 */
export const BENCH_QUERY = `fragment User on User { id username name }
fragment Review on Review { id body }
fragment Product on Product { inStock name price shippingEstimate upc weight }
query TestQuery {
  users {
    ...User
    reviews {
      ...Review
      product {
        ...Product
        reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } }
      }
    }
  }
  topProducts {
    ...Product
    reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } }
  }
}`;
