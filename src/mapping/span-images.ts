/**
 * The images a span carries, wherever its convention puts them, each counted
 * once (the same image in two attributes has one key), measured from its
 * header, and summed into the image_* columns.
 */
import { AI_SDK_IMAGE_ATTRIBUTES } from './conventions/ai-sdk.js';
import { GENAI_IMAGE_ATTRIBUTES } from './conventions/genai.js';
import { LANGFUSE_IMAGE_ATTRIBUTES } from './conventions/langfuse.js';
import {
  INPUT_VALUE,
  OUTPUT_VALUE,
  REDACTED_VALUE,
  isOpenInferenceImageUrl,
} from './conventions/openinference.js';
import {
  TRACELOOP_ENTITY_INPUT,
  TRACELOOP_ENTITY_OUTPUT,
  isIndexedContent,
} from './conventions/openllmetry.js';
import { sanitizeText } from '../schema/fit-row.js';
import { imageFromDeclaredString, imageKey, imageSize, measureImage, type ImageData } from './image-data.js';
import { findImagesInJson, findImagesInText } from './image-finder.js';
import type { ImageFormat } from './image-header.js';
import { groupedKeys, keyGroupOf, type GroupedKey } from './key-index.js';
import type { SpanView } from './span-view.js';

export type ImageSide = 'input' | 'output';

export interface MeasuredImage {
  readonly side: ImageSide;
  readonly format: ImageFormat | null;
  readonly width: number | null;
  readonly height: number | null;
  readonly bytes: number | null;
  /** The attribute the image was read from. */
  readonly source: string;
  readonly mime_type?: string;
}

export interface ImageColumns {
  readonly image_count: number | null;
  readonly image_total_pixels: number | null;
  readonly image_file_size_bytes: number | null;
  readonly image_width: number | null;
  readonly image_height: number | null;
  readonly image_format: string | null;
  readonly images: readonly MeasuredImage[];
}

/** Entries listed in image_custom_metrics; the counts and sums cover every image. */
export const MAX_LISTED_IMAGES = 64;
const MAX_IMAGES_PER_SPAN = 1024;

export const NO_IMAGES: ImageColumns = {
  image_count: null,
  image_total_pixels: null,
  image_file_size_bytes: null,
  image_width: null,
  image_height: null,
  image_format: null,
  images: [],
};

/** Attributes that may hold images, by side, in the order they are read (the first sighting is kept). */
const GENAI_INPUT = groupedKeys(GENAI_IMAGE_ATTRIBUTES.input);
const OTHER_INPUT = groupedKeys([
  ...AI_SDK_IMAGE_ATTRIBUTES.input,
  ...LANGFUSE_IMAGE_ATTRIBUTES.input,
  TRACELOOP_ENTITY_INPUT,
]);
const GENAI_OUTPUT = groupedKeys(GENAI_IMAGE_ATTRIBUTES.output);
const OTHER_OUTPUT = groupedKeys([...LANGFUSE_IMAGE_ATTRIBUTES.output, TRACELOOP_ENTITY_OUTPUT]);
const INPUT_VALUE_GROUP = keyGroupOf(INPUT_VALUE);
const OUTPUT_VALUE_GROUP = keyGroupOf(OUTPUT_VALUE);

export function spanImages(view: SpanView): ImageColumns {
  const collector = new ImageCollector(view);
  const { openInferenceInput, openInferenceOutput, indexedPrompts, indexedCompletions } = view.keys;
  collector.addAttributes(GENAI_INPUT, 'input');
  collector.addIndexedContents(indexedPrompts, 'input');
  collector.addAttributes(OTHER_INPUT, 'input');
  collector.addOpenInferenceInput(openInferenceInput);
  collector.addAttributes(GENAI_OUTPUT, 'output');
  collector.addIndexedContents(indexedCompletions, 'output');
  collector.addAttributes(OTHER_OUTPUT, 'output');
  collector.addOpenInferenceUrls(openInferenceUrls(view, openInferenceOutput), 'output');
  if (view.has(OUTPUT_VALUE_GROUP)) collector.addAttribute(OUTPUT_VALUE, 'output');
  return collector.columns();
}

/** An OpenInference message image: its URL, or REDACTED_VALUE where the instrumentation left it out. */
interface OpenInferenceUrl {
  readonly key: string;
  readonly url: string;
  readonly message: number;
  readonly part: number;
}

const IMAGE_URL_KEY = /^llm\.(?:input|output)_messages\.(\d+)\.message\.contents\.(\d+)\./;

/** The image URLs among `llm.input_messages.*` or `llm.output_messages.*`, in message then part order. */
function openInferenceUrls(view: SpanView, keys: readonly string[]): OpenInferenceUrl[] {
  const urls: OpenInferenceUrl[] = [];
  for (const key of keys) {
    if (!isOpenInferenceImageUrl(key)) continue;
    // Whole: an image is measured from its length and first bytes, whatever its size.
    const url = view.whole(key);
    if (url === undefined) continue;
    const match = IMAGE_URL_KEY.exec(key);
    urls.push({ key, url, message: Number(match?.[1] ?? 0), part: Number(match?.[2] ?? 0) });
  }
  // Instrumentations set them in order, but the row's first image must not depend on it.
  return urls.sort((a, b) => a.message - b.message || a.part - b.part);
}

/**
 * Every shape the image finder knows names one of these words (`image`,
 * `image_url`, `anthropic_image`, data:image/ URLs, `blob`, `uri`, `file`,
 * `Buffer`): an attribute with none of them is not parsed for images.
 */
const IMAGE_MARKERS = ['image', 'blob', 'uri', 'file', 'Buffer'];

function mayHoldImage(raw: string): boolean {
  for (const marker of IMAGE_MARKERS) if (raw.includes(marker)) return true;
  return false;
}

class ImageCollector {
  private readonly measured: MeasuredImage[] = [];
  private copies: ImageCopies | undefined;

  constructor(private readonly view: SpanView) {}

  /** Adds the images of the attributes whose key group the span has. */
  addAttributes(keys: readonly GroupedKey[], side: ImageSide): void {
    for (const { key, group } of keys) if (this.view.has(group)) this.addAttribute(key, side);
  }

  /** The indexed form's `gen_ai.prompt.N.content` / `gen_ai.completion.N.content`. */
  addIndexedContents(keys: readonly string[], side: ImageSide): void {
    for (const key of keys) if (isIndexedContent(key)) this.addAttribute(key, side);
  }

  /** Adds the images of one attribute; returns how many it held (before deduplication). */
  addAttribute(key: string, side: ImageSide): number {
    const raw = this.view.get(key);
    if (typeof raw !== 'string' || raw.length < 16) return 0;
    // Within what is read: the first image of a value starts within its first maxMeasured characters.
    const whole = this.view.readsWhole(raw.length);
    if (whole ? !mayHoldImage(raw) : !mayHoldImage(raw.slice(0, this.view.maxMeasured))) {
      // Unread past maxMeasured: an image there would be missed.
      if (!whole) this.view.noteCut();
      return 0;
    }
    const parsed = this.view.json(key);
    const images = parsed === undefined ? findImagesInText(this.view.bounded(raw)) : findImagesInJson(parsed);
    for (const image of images) this.add(image, side, key);
    return images.length;
  }

  /**
   * The request's images in the order it sent them. OpenInference redacts an
   * image over 32k characters in the messages, and only input.value (the
   * request body, in order) still holds it: with a redacted image, input.value
   * is read first, so the first image of the row is the request's first even
   * when a later, smaller one was left in the messages. Without input.value, a
   * redacted image still counts, unmeasured, in its place.
   */
  addOpenInferenceInput(keys: readonly string[]): void {
    const urls = openInferenceUrls(this.view, keys);
    const redacted = urls.some((url) => url.url === REDACTED_VALUE);
    const hasBody = this.view.has(INPUT_VALUE_GROUP);
    const bodyFirst = redacted && hasBody;
    if (bodyFirst && this.addAttribute(INPUT_VALUE, 'input') > 0) {
      this.addOpenInferenceUrls(urls, 'input');
      return;
    }
    for (const { key, url } of urls) {
      if (url === REDACTED_VALUE)
        this.add({ kind: 'placeholder', label: REDACTED_VALUE }, 'input', INPUT_VALUE);
      else this.addUrl(url, 'input', key);
    }
    if (hasBody && !bodyFirst) this.addAttribute(INPUT_VALUE, 'input');
  }

  /** The images of OpenInference message URLs; redacted ones are skipped. */
  addOpenInferenceUrls(urls: readonly OpenInferenceUrl[], side: ImageSide): void {
    for (const { key, url } of urls) if (url !== REDACTED_VALUE) this.addUrl(url, side, key);
  }

  private addUrl(url: string, side: ImageSide, key: string): void {
    const image = imageFromDeclaredString(url);
    if (image) this.add(image, side, key);
  }

  add(image: ImageData, side: ImageSide, source: string): void {
    if (this.measured.length >= MAX_IMAGES_PER_SPAN) return;
    if ((this.copies ??= new ImageCopies()).seenBefore(image)) return;
    const { format, width, height, bytes } = measureImage(image);
    // Source and MIME type come from the span: made storable here, as the image_custom_metrics entry is built.
    const storableSource = sanitizeText(source);
    this.measured.push(
      image.mimeType
        ? {
            side,
            format,
            width,
            height,
            bytes,
            source: storableSource,
            mime_type: sanitizeText(image.mimeType),
          }
        : { side, format, width, height, bytes, source: storableSource },
    );
  }

  columns(): ImageColumns {
    const images = this.measured;
    if (images.length === 0) return NO_IMAGES;
    let pixels: number | null = null;
    let bytes: number | null = null;
    for (const image of images) {
      if (image.width !== null && image.height !== null) pixels = (pixels ?? 0) + image.width * image.height;
      if (image.bytes !== null) bytes = (bytes ?? 0) + image.bytes;
    }
    const first = images[0]!;
    return {
      image_count: images.length,
      image_total_pixels: pixels,
      image_file_size_bytes: bytes,
      image_width: first.width,
      image_height: first.height,
      image_format: first.format,
      images,
    };
  }
}

/**
 * Which images a span already showed. An image's key is made only once
 * another image of the same size turns up: most spans hold one image, or
 * images of different sizes, and never need one.
 */
class ImageCopies {
  /** Sizes seen, each with its first image while that image's key is not yet made. */
  private readonly sizes = new Map<number, ImageData | undefined>();
  private readonly keys = new Set<string>();

  seenBefore(image: ImageData): boolean {
    const size = imageSize(image);
    if (size === undefined) return false;
    if (!this.sizes.has(size)) {
      this.sizes.set(size, image);
      return false;
    }
    const first = this.sizes.get(size);
    if (first !== undefined) {
      this.remember(first);
      this.sizes.set(size, undefined);
    }
    return !this.remember(image);
  }

  /** Adds the image's key; false when it was there already. */
  private remember(image: ImageData): boolean {
    const key = imageKey(image);
    if (key === undefined || this.keys.has(key)) return false;
    this.keys.add(key);
    return true;
  }
}
