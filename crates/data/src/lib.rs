//! strata-data: loaders for the Department for Education's published statistics and a
//! synthetic-England generator.
