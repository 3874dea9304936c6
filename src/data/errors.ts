/**
 * The one error type of the data readers (IDX, CIFAR, tar, gzip, images, safetensors): a damaged, empty or
 * unreadable input file. Its message is one line that starts with the file name and says what is wrong.
 */
export class DataFormatError extends Error {
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The message for a zero-byte input: "empty", not "corrupt", so the user looks for a failed copy. */
export function emptyFileError(file: string, expected: string): DataFormatError {
  return new DataFormatError(file, `${file}: file is empty (0 bytes), expected ${expected}`);
}
