/**
 * Which rates price a call: a user's custom prices first, then the table
 * bundled with @pydantic/genai-prices, each at the price in force when the
 * call started. No network: the bundled table is the installed package's data.
 *
 * genai-prices' `calcPrice` finds a model (dated snapshots, provider
 * prefixes, fallback providers) and prices a usage, at about 10 µs a call on
 * a 2-core machine. The finding is the slow part and depends only on the
 * provider and the model name, so it runs once per pair (memoised); choosing
 * the price in force on a day and the arithmetic (call-cost.ts) run per call.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { calcPrice, findProvider, type ModelInfo, type ModelPrice } from '@pydantic/genai-prices';
import type { CheckedCustomPrices, CustomEntry } from './custom-prices.js';
import type { ModelRates, Rate } from './call-cost.js';

/** The rates that price a model on a day, and where they came from. */
export interface ModelPriceOnDay {
  readonly rates: ModelRates;
  /** `@pydantic/genai-prices@<version>`, `custom:<file>` or `custom:code`. */
  readonly source: string;
  /** The table's name for the model, with its provider: `openai:gpt-4o-mini`, or the custom rule. */
  readonly pricedAs: string;
  /** The first day of this price (a price change, a custom `from`); absent when it has always applied. */
  readonly since?: string | undefined;
}

export interface PriceLookup {
  /** The model name as the span gave it. */
  readonly model: string;
  /** The `provider` column's value (GenAI conventions' well-known names), when the span named one. */
  readonly provider: string | undefined;
  /** When the call started, in milliseconds since the epoch. */
  readonly atMillis: number;
}

/** A name longer than this is no model any table lists: it is not looked up. */
const MAX_MODEL_NAME = 200;
/** Distinct (provider, model) pairs remembered; past it the memo starts again (a span cannot grow it without bound). */
const MAX_MEMO = 4096;

export class PriceTable {
  /** Per provider (the empty string for none), per model name: the model found, or null. */
  private readonly memo = new Map<string, Map<string, BundledModel | null>>();
  private memoSize = 0;
  private memoGeneration = 0;
  /** Per `provider\nmodel`: the custom entries that match it. */
  private readonly customMemo = new Map<string, readonly CustomEntry[]>();

  constructor(
    private readonly custom: CheckedCustomPrices | undefined = undefined,
    private readonly bundled: BundledPrices = BUNDLED_PRICES,
  ) {}

  /** The source the bundled rates are named by in rows: `@pydantic/genai-prices@0.1.8`. */
  get bundledSource(): string {
    return this.bundled.source;
  }

  /** The rates in force for a model at a time; undefined when neither the custom prices nor the table know it. */
  find(lookup: PriceLookup): ModelPriceOnDay | undefined {
    return this.findFirst(lookup.model, undefined, lookup.provider, lookup.atMillis);
  }

  /**
   * The rates of the first of `models` (names of one call: its response
   * model, then its request model) the custom prices know, else the first the
   * bundled table knows: a custom price for the model asked for wins over the
   * table's price for the snapshot that answered.
   */
  findFirst(
    first: string | undefined,
    second: string | undefined,
    provider: string | undefined,
    atMillis: number,
  ): ModelPriceOnDay | undefined {
    if (this.custom !== undefined) {
      const custom =
        (isLookedUp(first) ? this.customPrice(this.custom, first, provider, atMillis) : undefined) ??
        (isLookedUp(second) ? this.customPrice(this.custom, second, provider, atMillis) : undefined);
      if (custom !== undefined) return custom;
    }
    return (
      (isLookedUp(first) ? this.bundledPrice(first, provider, atMillis) : undefined) ??
      (isLookedUp(second) && second !== first ? this.bundledPrice(second, provider, atMillis) : undefined)
    );
  }

  private customPrice(
    custom: CheckedCustomPrices,
    model: string,
    provider: string | undefined,
    atMillis: number,
  ): ModelPriceOnDay | undefined {
    let best: CustomEntry | undefined;
    for (const entry of this.customEntriesFor(custom, model, provider)) {
      if (entry.fromMillis > atMillis || (best !== undefined && entry.fromMillis < best.fromMillis)) continue;
      best = entry;
    }
    if (best === undefined) return undefined;
    return { rates: best.rates, source: custom.source, pricedAs: best.rule, since: best.from };
  }

  /** The custom entries for a (model, provider), in file order: the rules run once per pair. */
  private customEntriesFor(
    custom: CheckedCustomPrices,
    model: string,
    provider: string | undefined,
  ): readonly CustomEntry[] {
    const key = `${provider ?? ''}\n${model}`;
    let entries = this.customMemo.get(key);
    if (entries === undefined) {
      if (this.customMemo.size >= MAX_MEMO) this.customMemo.clear();
      entries = custom.entries.filter(
        (entry) => (entry.provider === undefined || entry.provider === provider) && entry.matches(model),
      );
      this.customMemo.set(key, entries);
    }
    return entries;
  }

  private bundledPrice(
    model: string,
    provider: string | undefined,
    atMillis: number,
  ): ModelPriceOnDay | undefined {
    if (this.memoGeneration !== this.bundled.generation) {
      this.memo.clear();
      this.memoSize = 0;
      this.memoGeneration = this.bundled.generation;
    }
    const providerKey = provider ?? '';
    let models = this.memo.get(providerKey);
    if (models === undefined) {
      models = new Map();
      this.memo.set(providerKey, models);
    }
    let found = models.get(model);
    if (found === undefined) {
      if (this.memoSize >= MAX_MEMO) {
        this.memo.clear();
        this.memoSize = 0;
        models = new Map();
        this.memo.set(providerKey, models);
      }
      found = this.bundled.findModel(model, provider);
      models.set(model, found);
      this.memoSize++;
    }
    if (found === null) return undefined;
    // Most models have one price whatever the day: worked out once.
    if (found.always !== undefined) return found.always;
    const { price, since } = priceInForce(found.model, atMillis);
    return { rates: ratesOf(price), source: this.bundled.source, pricedAs: found.pricedAs, since };
  }
}

function isLookedUp(model: string | undefined): model is string {
  return model !== undefined && model.length > 0 && model.length <= MAX_MODEL_NAME;
}

/** A model of the bundled table. */
export interface BundledModel {
  readonly model: ModelInfo;
  readonly pricedAs: string;
  /** Its price when it has one price whatever the day (no price changes, no time-of-day prices). */
  readonly always?: ModelPriceOnDay | undefined;
}

/** The bundled table: how a model is found in it, and its name in rows. */
export interface BundledPrices {
  readonly source: string;
  /** Changes when the table's data is replaced: models found before are found again. */
  readonly generation: number;
  findModel(model: string, provider: string | undefined): BundledModel | null;
}

/**
 * genai-prices' provider ids for the `provider` column's values that its own
 * matching (an id, else a provider whose name rule the value contains) would
 * miss or take for another provider (`azure.ai.openai` contains `openai`).
 */
const PROVIDER_IDS: ReadonlyMap<string, string> = new Map([
  ['aws.bedrock', 'aws'],
  ['azure.ai.openai', 'azure'],
  ['azure.ai.inference', 'azure'],
  ['gcp.gemini', 'google'],
  ['gcp.vertex_ai', 'google'],
  ['gcp.gen_ai', 'google'],
  ['mistral_ai', 'mistral'],
  ['x_ai', 'x-ai'],
]);

const INSTALLED_SOURCE = `@pydantic/genai-prices@${installedVersion()}`;
/** The installed package's version, and the day of the data when prices were updated (LLAMONITOR_PRICES_AUTO_UPDATE). */
let bundledSource = INSTALLED_SOURCE;
/** Counts updates of the bundled data: a table's memo of models found in older data is dropped. */
let bundledGeneration = 0;

/** genai-prices now prices with data fetched at `fetchedAt` (export/price-updates.ts). */
export function bundledTableUpdated(fetchedAt: Date): void {
  bundledSource = `${INSTALLED_SOURCE}+data-${fetchedAt.toISOString().slice(0, 10)}`;
  bundledGeneration++;
}

export const GENAI_PRICES: BundledPrices = {
  get source() {
    return bundledSource;
  },
  get generation() {
    return bundledGeneration;
  },
  findModel(model: string, provider: string | undefined): BundledModel | null {
    const providerId = provider === undefined ? undefined : (PROVIDER_IDS.get(provider) ?? provider);
    const found = findWith(model, providerId);
    if (found !== null || providerId === undefined) return found;
    // A provider the table knows, serving a model of another (a proxy, an OpenAI-compatible endpoint):
    // the model's own provider prices it. A provider the table does not know (self-hosted) is not guessed at.
    return findProvider({ providerId }) === undefined ? null : findWith(model, undefined);
  },
};

const BUNDLED_PRICES = GENAI_PRICES;

let bundledOnly: PriceTable | undefined;

/** The table without custom prices, shared: its memo then serves every exporter that has none. */
export function defaultPriceTable(): PriceTable {
  return (bundledOnly ??= new PriceTable());
}

function findWith(model: string, providerId: string | undefined): BundledModel | null {
  try {
    const result = calcPrice({}, model, providerId === undefined ? {} : { providerId });
    return result === null
      ? null
      : { model: result.model, pricedAs: `${result.provider.id}:${result.model.id}` };
  } catch {
    // A model the table cannot price (its data is inconsistent) is a model without a price.
    return null;
  }
}

/**
 * The price of a model in force at a time, as genai-prices chooses it: the
 * last of its conditional prices whose constraint holds (a start date passed,
 * a time of day inside its window), else the first.
 */
export function priceInForce(model: ModelInfo, atMillis: number): { price: ModelPrice; since?: string } {
  if (!Array.isArray(model.prices)) return { price: model.prices };
  const at = new Date(atMillis);
  for (let i = model.prices.length - 1; i >= 0; i--) {
    const { constraint, prices } = model.prices[i]!;
    if (constraint === undefined) return { price: prices };
    if (constraint.type === 'start_date') {
      if (atMillis >= Date.parse(constraint.start_date))
        return { price: prices, since: constraint.start_date };
    } else if (inTimeOfDay(at, constraint.start_time, constraint.end_time)) {
      return { price: prices };
    }
  }
  return { price: model.prices[0]!.prices };
}

function inTimeOfDay(at: Date, start: string, end: string): boolean {
  const seconds =
    at.getUTCHours() * 3600 + at.getUTCMinutes() * 60 + at.getUTCSeconds() + at.getUTCMilliseconds() / 1000;
  const from = secondsOfDay(start);
  const to = secondsOfDay(end);
  return to < from ? seconds >= from || seconds < to : seconds >= from && seconds < to;
}

/** `HH:MM:SS[.fff](Z|±HH:MM)` as UTC seconds of the day. */
function secondsOfDay(time: string): number {
  const match = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(time);
  if (match === null) return NaN;
  const [, hours, minutes, seconds, fraction = '', zone, sign, zoneHours = '00', zoneMinutes = '00'] = match;
  const local = Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds) + Number(`0.${fraction}`);
  const offset =
    zone === 'Z' ? 0 : (sign === '+' ? 1 : -1) * (Number(zoneHours) * 60 + Number(zoneMinutes)) * 60;
  return (local - offset + 86_400) % 86_400;
}

const RATES = new WeakMap<ModelPrice, ModelRates>();

/** A genai-prices price as rates (its tiered prices sorted by start), converted once per price. */
function ratesOf(price: ModelPrice): ModelRates {
  let rates = RATES.get(price);
  if (rates === undefined) {
    const converted: Record<string, Rate> = {};
    for (const [key, value] of Object.entries(price)) {
      if (typeof value === 'number') converted[key] = value;
      else if (value !== undefined) {
        converted[key] = { base: value.base, tiers: [...value.tiers].sort((a, b) => a.start - b.start) };
      }
    }
    rates = converted;
    RATES.set(price, rates);
  }
  return rates;
}

function installedVersion(): string {
  try {
    const entry = createRequire(import.meta.url).resolve('@pydantic/genai-prices');
    const manifest = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
