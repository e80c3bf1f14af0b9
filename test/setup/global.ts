import { ensureBusyboxImage } from '../helpers/images.js';

export default function setup(): void {
  ensureBusyboxImage();
}
