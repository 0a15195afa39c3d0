"""Cooperation between customs administrations (WCO Framework of Standards on Cross-Border E-Commerce,
standard 12): risk alerts and the feedback on them, in signed bundles; authorised-operator lists exchanged
under mutual recognition. Pure: it reads and writes texts, the edges keep and send them."""
