"""The pipeline tab: the cluster view of the tracker group, and a followed log folder."""
