//! Sales opportunities (商机) and their stages.
