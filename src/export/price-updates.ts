/**
 * Opt-in updates of the bundled price table (`pricesAutoUpdate`,
 * LLAMONITOR_PRICES_AUTO_UPDATE): at start and then once a day, fetch
 * genai-prices' published data (REMOTE_DATA_JSON_URL: one JSON file on
 * raw.githubusercontent.com, the pydantic/genai-prices repository's
 * prices/new_data/v2/data.json, nothing sent but the request) and price with
 * it from then on. Off by default: no network at run time unless asked. A
 * failed fetch keeps the prices in use and says so once.
 */
import { REMOTE_DATA_JSON_URL, updatePrices, type Provider } from '@pydantic/genai-prices';
import { bundledTableUpdated } from '../pricing/price-table.js';
import type { ConsoleWarnings } from '../warnings.js';

/** How often the published data is fetched again. */
export const PRICE_UPDATE_INTERVAL_MILLIS = 24 * 60 * 60 * 1000;
const FETCH_TIMEOUT_MILLIS = 30_000;

/** Fetches the published price data: the providers and their models, as genai-prices reads them. */
export type PriceDataSource = () => Promise<unknown>;

export const fetchPublishedPrices: PriceDataSource = async () => {
  const response = await fetch(REMOTE_DATA_JSON_URL, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MILLIS) });
  if (!response.ok) throw new Error(`${REMOTE_DATA_JSON_URL} answered ${response.status}`);
  return response.json();
};

let setProviderData: ((data: Provider[]) => void) | undefined;

/** Hands data to genai-prices (which checks it and prices with it from then on). */
function install(data: Provider[]): void {
  if (setProviderData === undefined) {
    updatePrices(({ setProviderData: set }) => {
      setProviderData = set as (data: Provider[]) => void;
    });
  }
  setProviderData!(data);
}

export class PriceUpdates {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The fetch in progress, if any (tests wait for it). */
  current: Promise<void> | undefined;

  constructor(
    private readonly warnings: ConsoleWarnings,
    private readonly source: PriceDataSource = fetchPublishedPrices,
    private readonly intervalMillis = PRICE_UPDATE_INTERVAL_MILLIS,
  ) {}

  start(): void {
    this.current = this.update();
    this.timer = setInterval(() => {
      this.current = this.update();
    }, this.intervalMillis);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  private async update(): Promise<void> {
    try {
      const data = await this.source();
      if (this.stopped) return;
      if (!Array.isArray(data) || data.length === 0) throw new Error('the data is not a list of providers');
      install(data as Provider[]);
      bundledTableUpdated(new Date());
    } catch (error) {
      this.warnings.once(
        'prices-update',
        `could not update the price table (${(error as Error).message}); the prices in use stay: ` +
          `the bundled @pydantic/genai-prices data, or the last update`,
      );
    }
  }
}
