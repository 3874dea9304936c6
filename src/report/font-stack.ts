/** font-family written into chart SVGs; browsers fall back along the list. */
export const FONT_STACK = 'DejaVu Sans, Verdana, Helvetica, Arial, sans-serif';
