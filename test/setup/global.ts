import { ensureDebianNodeBase, ensureDebianSlimBase } from '../helpers/debian-base.js';
import { ensureBusyboxImage } from '../helpers/images.js';

// Test images are made once, before any worker starts, so two workers never build the same one.
export default async function setup(): Promise<void> {
  ensureBusyboxImage();
  await ensureDebianNodeBase();
  await ensureDebianSlimBase();
}
