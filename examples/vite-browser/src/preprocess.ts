/**
 * Turns a drawing into what the MNIST model expects, the way MNIST itself was made: crop to the ink, scale
 * the longer side to 20 pixels (keeping the aspect ratio), and place it in a 28 × 28 image so that its
 * centre of mass is in the middle. Pure: takes intensities, returns 784 values in 0..1.
 */
export const SIDE = 28;
const BOX = 20;

/** `ink` is row-major `width × height` with values in 0..1 (1 = ink). Returns 784 values, all 0 for an empty drawing. */
export function toMnistPixels(ink: Float32Array, width: number, height: number): Float32Array {
  let top = height,
    left = width,
    bottom = -1,
    right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if ((ink[y * width + x] as number) > 0.05) {
        if (y < top) top = y;
        if (y > bottom) bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
  }
  const out = new Float32Array(SIDE * SIDE);
  if (bottom < 0) return out;
  const w = right - left + 1;
  const h = bottom - top + 1;
  const scale = BOX / Math.max(w, h);
  const sw = Math.max(1, Math.round(w * scale));
  const sh = Math.max(1, Math.round(h * scale));
  // Area-average the crop down to sw × sh.
  const small = new Float32Array(sw * sh);
  for (let ty = 0; ty < sh; ty++) {
    const y0 = top + Math.floor((ty * h) / sh);
    const y1 = Math.max(y0 + 1, top + Math.floor(((ty + 1) * h) / sh));
    for (let tx = 0; tx < sw; tx++) {
      const x0 = left + Math.floor((tx * w) / sw);
      const x1 = Math.max(x0 + 1, left + Math.floor(((tx + 1) * w) / sw));
      let sum = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += ink[y * width + x] as number;
      small[ty * sw + tx] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  // Centre of mass of the scaled digit, moved to the centre of the 28 × 28 image.
  let mass = 0,
    cx = 0,
    cy = 0;
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const v = small[y * sw + x] as number;
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  }
  const offX = Math.round(SIDE / 2 - cx / mass);
  const offY = Math.round(SIDE / 2 - cy / mass);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const X = x + offX;
      const Y = y + offY;
      if (X >= 0 && X < SIDE && Y >= 0 && Y < SIDE) out[Y * SIDE + X] = Math.min(1, small[y * sw + x] as number);
    }
  }
  return out;
}
