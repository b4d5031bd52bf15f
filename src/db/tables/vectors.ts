// Table types of the vectors area; the owner of that area fills this in with its migration (0003_vectors).
// biome-ignore lint/suspicious/noEmptyInterface: filled by the area's owner
export interface VectorTables {}
