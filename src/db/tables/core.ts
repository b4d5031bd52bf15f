// Table types of the core area; the owner of that area fills this in with its migration (0001_core).
// biome-ignore lint/suspicious/noEmptyInterface: filled by the area's owner
export interface CoreTables {}
