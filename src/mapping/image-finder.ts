/**
 * Finds the images in a parsed JSON attribute, whatever the convention's shape:
 * GenAI `blob` / `uri` / `file` parts, OpenAI `image_url` and `input_image`
 * parts, Anthropic `image` blocks with a base64 or URL source, AI SDK `image`
 * and `file` parts (base64, URL, or a Buffer serialised as
 * `{"type":"Buffer","data":[...]}`), and data: URLs anywhere in a string.
 * The walk is bounded in depth and in nodes, so a hostile document costs little.
 */
import {
  imageFromDeclaredString,
  imageFromUndeclaredString,
  imagesInText,
  type ImageData,
} from './image-data.js';
import { isRecord } from './span-view.js';

/** Images kept from one attribute; more are ignored. */
export const MAX_IMAGES_PER_ATTRIBUTE = 256;
const MAX_DEPTH = 48;
/** The part types imagePart handles; any other part (text, tool calls) is walked like any object. */
const IMAGE_PART_TYPES = new Set([
  'Buffer',
  'blob',
  'uri',
  'file',
  'image_url',
  'input_image',
  'image',
  'anthropic_image',
]);
const MAX_NODES = 200_000;

export function findImagesInJson(document: unknown): ImageData[] {
  const walk = new ImageWalk();
  walk.visit(document, 0);
  return walk.found;
}

export function findImagesInText(text: string): ImageData[] {
  return imagesInText(text, MAX_IMAGES_PER_ATTRIBUTE);
}

class ImageWalk {
  readonly found: ImageData[] = [];
  private nodes = 0;

  visit(node: unknown, depth: number): void {
    if (++this.nodes > MAX_NODES || depth > MAX_DEPTH || this.full()) return;
    if (typeof node === 'string') {
      if (node.length > 16 && node.includes('data:image/')) this.addAll(imagesInText(node, this.room()));
      return;
    }
    if (Array.isArray(node)) {
      for (const item of node) this.visit(item, depth + 1);
      return;
    }
    if (!isRecord(node)) return;
    if (this.imagePart(node)) return;
    for (const key in node) this.visit(node[key], depth + 1);
  }

  /** Records the image `part` is, if it is one; true when it was handled. */
  private imagePart(part: Record<string, unknown>): boolean {
    const type = part['type'];
    if (typeof type !== 'string' || !IMAGE_PART_TYPES.has(type)) return false;
    const mimeType =
      stringField(part, 'mime_type') ?? stringField(part, 'mediaType') ?? stringField(part, 'mimeType');
    const declaredImage = part['modality'] === 'image' || (mimeType?.startsWith('image/') ?? false);
    switch (type) {
      case 'Buffer':
        // A Node Buffer serialised by JSON.stringify: an image only when its bytes say so.
        if (Array.isArray(part['data'])) this.addBytes(part['data'], mimeType, false);
        return true;
      case 'blob': // GenAI BlobPart
        if (part['modality'] !== undefined || mimeType !== undefined ? declaredImage : true) {
          this.addValue(part['content'], mimeType, declaredImage);
        }
        return true;
      case 'uri': // GenAI UriPart; OpenLLMetry labels raw base64 from the AI SDK as one
        this.addValue(part['uri'], mimeType, declaredImage);
        return true;
      case 'file':
        return this.filePart(part, mimeType, declaredImage);
      case 'image_url': {
        // OpenAI chat content part: {image_url: {url}} (or a bare string in older SDKs)
        const imageUrl = part['image_url'];
        this.addValue(isRecord(imageUrl) ? imageUrl['url'] : imageUrl, mimeType, true);
        return true;
      }
      case 'input_image': // OpenAI Responses API
        this.addValue(part['image_url'] ?? part['file_id'], mimeType, true);
        return true;
      case 'image':
        return this.imageTypedPart(part, mimeType);
      case 'anthropic_image': // the Anthropic SDK's own spans replace an image by this marker
        this.add({ kind: 'placeholder', label: 'anthropic_image' });
        return true;
      default:
        return false;
    }
  }

  private filePart(
    part: Record<string, unknown>,
    mimeType: string | undefined,
    declaredImage: boolean,
  ): boolean {
    if ('data' in part) {
      // AI SDK FilePart {data, mediaType}
      if (declaredImage || mimeType === undefined) this.addValue(part['data'], mimeType, declaredImage);
      return true;
    }
    if (declaredImage) {
      // GenAI FilePart {file_id}: an image stored elsewhere
      const fileId = stringField(part, 'file_id');
      if (fileId) this.add({ kind: 'uri', uri: `file_id:${fileId}`, mimeType });
      return true;
    }
    return false;
  }

  private imageTypedPart(part: Record<string, unknown>, mimeType: string | undefined): boolean {
    const source = part['source'];
    if (isRecord(source)) {
      // Anthropic: {type:'image', source:{type:'base64', media_type, data} | {type:'url', url}}
      const sourceMime = stringField(source, 'media_type') ?? mimeType;
      if (source['type'] === 'url') this.addValue(source['url'], sourceMime, true);
      else this.addValue(source['data'] ?? source['url'], sourceMime, true);
      return true;
    }
    const image = part['image'];
    if (image !== undefined) {
      // AI SDK ImagePart {image: base64 | URL | Buffer}; OpenInference {image: {url}}
      this.addValue(
        isRecord(image) && typeof image['url'] === 'string' ? image['url'] : image,
        mimeType,
        true,
      );
      return true;
    }
    const url = part['url'] ?? part['image_url'];
    if (url !== undefined) {
      this.addValue(isRecord(url) ? url['url'] : url, mimeType, true);
      return true;
    }
    return false;
  }

  private addValue(value: unknown, mimeType: string | undefined, declaredImage: boolean): void {
    if (typeof value === 'string') {
      const image = declaredImage
        ? imageFromDeclaredString(value, mimeType)
        : imageFromUndeclaredString(value);
      if (image) this.add(image);
    } else if (isRecord(value) && value['type'] === 'Buffer' && Array.isArray(value['data'])) {
      this.addBytes(value['data'], mimeType, declaredImage);
    } else if (Array.isArray(value) && value.every((v) => typeof v === 'number')) {
      this.addBytes(value, mimeType, declaredImage);
    } else if (isRecord(value) && isByteIndexObject(value)) {
      // A Uint8Array serialised by JSON.stringify: {"0":137,"1":80,...}
      this.addBytes(Object.values(value), mimeType, declaredImage);
    }
  }

  private addBytes(bytes: unknown[], mimeType: string | undefined, declaredImage: boolean): void {
    if (!declaredImage && !startsWithImageSignature(bytes)) return;
    this.add({ kind: 'bytes', bytes, mimeType });
  }

  private add(image: ImageData): void {
    if (!this.full()) this.found.push(image);
  }

  private addAll(images: ImageData[]): void {
    for (const image of images) this.add(image);
  }

  private full(): boolean {
    return this.found.length >= MAX_IMAGES_PER_ATTRIBUTE;
  }

  private room(): number {
    return MAX_IMAGES_PER_ATTRIBUTE - this.found.length;
  }
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function isByteIndexObject(value: Record<string, unknown>): boolean {
  return value['0'] !== undefined && typeof value['0'] === 'number' && typeof value['1'] === 'number';
}

function startsWithImageSignature(bytes: unknown[]): boolean {
  const b0 = bytes[0];
  const b1 = bytes[1];
  return (
    (b0 === 0x89 && b1 === 0x50) || // PNG
    (b0 === 0xff && b1 === 0xd8) || // JPEG
    (b0 === 0x47 && b1 === 0x49) || // GIF
    (b0 === 0x52 && b1 === 0x49) || // RIFF (WebP)
    (b0 === 0x42 && b1 === 0x4d) // BMP
  );
}
