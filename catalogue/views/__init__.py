"""HTTP views of the catalogue: parse with a shared schema, call one domain function, commit, dump."""
