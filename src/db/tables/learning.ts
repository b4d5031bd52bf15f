// Table types of the learning area; the owner of that area fills this in with its migration (0002_learning).
// biome-ignore lint/suspicious/noEmptyInterface: filled by the area's owner
export interface LearningTables {}
