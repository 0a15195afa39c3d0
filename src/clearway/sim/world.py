"""The simulated world: destinations and their buyers, origins and their sellers, platforms and carriers.

Weights are rough shares of cross-border e-commerce flows (most parcels from China, the EU the largest
destination); exchange rates are indicative (late 2026) and only turn USD list prices into local prices.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Destination:
    country: str
    currency: str
    weight: float
    phone_prefix: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    cities: tuple[tuple[str, str], ...]  # (city, postcode)
    streets: tuple[str, ...]


def _d(
    country: str, currency: str, weight: float, phone: str, first: str, last: str, cities: str, streets: str
) -> Destination:
    return Destination(
        country, currency, weight, phone, tuple(first.split(",")), tuple(last.split(",")),
        tuple(tuple(c.split(":")) for c in cities.split(",")),  # type: ignore[misc]
        tuple(streets.split(",")),
    )  # fmt: skip


DESTINATIONS = (
    _d(
        "DE",
        "EUR",
        14,
        "+49",
        "Anna,Lukas,Marie,Jonas,Sophie,Felix,Lea,Paul,Hannah,Leon,Julia,Max",
        "Müller,Schmidt,Schneider,Fischer,Weber,Meyer,Wagner,Becker,Schulz,Hoffmann,Koch,Richter",
        "Berlin:10115,Hamburg:20095,München:80331,Köln:50667,Frankfurt am Main:60311,Stuttgart:70173,Leipzig:04109,Dresden:01067",
        "Hauptstr.,Bahnhofstr.,Gartenweg,Schulstr.,Lindenallee,Bergstr.",
    ),
    _d(
        "FR",
        "EUR",
        10,
        "+33",
        "Camille,Louis,Léa,Hugo,Chloé,Lucas,Manon,Jules,Emma,Gabriel",
        "Martin,Bernard,Dubois,Thomas,Robert,Richard,Petit,Durand,Leroy,Moreau",
        "Paris:75001,Lyon:69001,Marseille:13001,Toulouse:31000,Nantes:44000,Lille:59000,Bordeaux:33000",
        "rue de la Paix,avenue Victor Hugo,rue Nationale,boulevard Voltaire,rue du Moulin",
    ),
    _d(
        "NL",
        "EUR",
        6,
        "+31",
        "Daan,Emma,Sem,Julia,Lucas,Mila,Finn,Sophie",
        "de Jong,Jansen,de Vries,van den Berg,van Dijk,Bakker,Visser,Smit",
        "Amsterdam:1011 AB,Rotterdam:3011 AA,Utrecht:3511 AA,Eindhoven:5611 AA,Groningen:9711 AA",
        "Dorpsstraat,Kerkstraat,Stationsweg,Molenweg",
    ),
    _d(
        "IT",
        "EUR",
        7,
        "+39",
        "Giulia,Francesco,Sofia,Alessandro,Aurora,Lorenzo,Martina,Matteo",
        "Rossi,Russo,Ferrari,Esposito,Bianchi,Romano,Colombo,Ricci",
        "Roma:00184,Milano:20121,Napoli:80121,Torino:10121,Bologna:40121,Firenze:50122",
        "Via Roma,Via Garibaldi,Corso Italia,Via Dante",
    ),
    _d(
        "ES",
        "EUR",
        7,
        "+34",
        "Lucía,Hugo,Martina,Mateo,Sofía,Leo,Paula,Daniel",
        "García,Fernández,González,Rodríguez,López,Martínez,Sánchez,Pérez",
        "Madrid:28001,Barcelona:08001,Valencia:46001,Sevilla:41001,Bilbao:48001,Málaga:29001",
        "Calle Mayor,Calle Real,Avenida de la Constitución,Calle del Sol",
    ),
    _d(
        "PL",
        "EUR",
        5,
        "+48",
        "Zuzanna,Antoni,Julia,Jan,Zofia,Jakub,Hanna,Szymon",
        "Nowak,Kowalski,Wiśniewski,Wójcik,Kowalczyk,Kamiński,Lewandowski,Zieliński",
        "Warszawa:00-001,Kraków:30-001,Łódź:90-001,Wrocław:50-001,Poznań:60-001,Gdańsk:80-001",
        "ul. Polna,ul. Leśna,ul. Słoneczna,ul. Krótka",
    ),
    _d(
        "BE",
        "EUR",
        3,
        "+32",
        "Lucas,Emma,Louis,Olivia,Noah,Louise",
        "Peeters,Janssens,Maes,Jacobs,Mertens,Willems",
        "Bruxelles:1000,Antwerpen:2000,Gent:9000,Liège:4000",
        "Rue de la Loi,Kerkstraat,Rue Haute,Stationsstraat",
    ),
    _d(
        "SE",
        "EUR",
        3,
        "+46",
        "Alice,William,Maja,Lucas,Elsa,Liam",
        "Andersson,Johansson,Karlsson,Nilsson,Eriksson,Larsson",
        "Stockholm:111 20,Göteborg:411 01,Malmö:211 20,Uppsala:753 20",
        "Storgatan,Drottninggatan,Kungsgatan,Skolgatan",
    ),
    _d(
        "IE",
        "EUR",
        2,
        "+353",
        "Jack,Emily,James,Grace,Noah,Fiadh",
        "Murphy,Kelly,O'Sullivan,Walsh,Smith,O'Brien",
        "Dublin:D01 F5P2,Cork:T12 X70A,Galway:H91 E2K3,Limerick:V94 T9PX",
        "Main Street,Church Road,Green Lane,Park Avenue",
    ),
    _d(
        "AT",
        "EUR",
        2,
        "+43",
        "Anna,Paul,Emma,Jakob,Marie,Elias",
        "Gruber,Huber,Bauer,Wagner,Müller,Pichler",
        "Wien:1010,Graz:8010,Linz:4020,Salzburg:5020",
        "Hauptplatz,Bahnhofstraße,Kirchengasse",
    ),
    _d(
        "GB",
        "GBP",
        12,
        "+44",
        "Oliver,Amelia,George,Isla,Harry,Ava,Noah,Mia,Jack,Olivia",
        "Smith,Jones,Williams,Taylor,Brown,Davies,Evans,Wilson,Thomas,Johnson",
        "London:SW1A 1AA,Manchester:M1 1AE,Birmingham:B1 1BB,Leeds:LS1 1UR,Glasgow:G1 1XQ,Bristol:BS1 4DJ",
        "High Street,Station Road,Church Lane,Victoria Road,Park Road",
    ),
    _d(
        "US",
        "USD",
        18,
        "+1",
        "James,Mary,Michael,Patricia,Robert,Jennifer,John,Linda,David,Elizabeth,Emily,Daniel",
        "Smith,Johnson,Williams,Brown,Jones,Garcia,Miller,Davis,Rodriguez,Martinez,Wilson,Anderson",
        "New York:10001,Los Angeles:90001,Chicago:60601,Houston:77001,Phoenix:85001,Seattle:98101,Miami:33101,Denver:80201",
        "Main St,Oak Ave,Maple Dr,Elm St,Washington Blvd,Park Ave",
    ),
    _d(
        "AU",
        "AUD",
        5,
        "+61",
        "Charlotte,Oliver,Olivia,William,Amelia,Jack",
        "Smith,Jones,Williams,Brown,Wilson,Taylor",
        "Sydney:2000,Melbourne:3000,Brisbane:4000,Perth:6000,Adelaide:5000",
        "George St,Collins St,Queen St,King St",
    ),
    _d(
        "CA",
        "CAD",
        3,
        "+1",
        "Olivia,Liam,Emma,Noah,Charlotte,William",
        "Smith,Brown,Tremblay,Martin,Roy,Wilson",
        "Toronto:M5H 2N2,Montréal:H2Y 1C6,Vancouver:V6B 1A1,Calgary:T2P 1J9,Ottawa:K1P 1J1",
        "Yonge St,Rue Sainte-Catherine,Granville St,Bank St",
    ),
    _d(
        "CH",
        "CHF",
        2,
        "+41",
        "Mia,Noah,Emma,Liam,Lina,Luca",
        "Müller,Meier,Schmid,Keller,Weber,Huber",
        "Zürich:8001,Genève:1201,Basel:4001,Bern:3011,Lausanne:1003",
        "Bahnhofstrasse,Rue du Rhône,Hauptstrasse,Marktgasse",
    ),
)

EU = frozenset({"DE", "FR", "NL", "IT", "ES", "PL", "BE", "SE", "IE", "AT"})
IOSS_STATE_CODES = {"NL": "528", "IE": "372", "DE": "276", "FR": "250", "LU": "442", "BE": "056"}

USD_RATES = {
    "USD": 1.0, "EUR": 0.92, "GBP": 0.79, "AUD": 1.52, "CAD": 1.38, "CHF": 0.88, "CNY": 7.2, "HKD": 7.8,
    "TRY": 34.0, "KRW": 1380.0, "INR": 84.0, "VND": 25400.0,
}  # fmt: skip
"""Indicative units of each currency per USD, only for turning list prices into local prices."""


@dataclass(frozen=True)
class Origin:
    country: str
    weight: float
    currency: str
    cities: tuple[str, ...]
    legal_form: str
    phone_prefix: str


ORIGINS = (
    Origin(
        "CN",
        70,
        "CNY",
        ("Shenzhen", "Guangzhou", "Yiwu", "Dongguan", "Shanghai", "Hangzhou", "Ningbo", "Xiamen"),
        "Co., Ltd.",
        "+86",
    ),
    Origin("HK", 8, "HKD", ("Hong Kong", "Kowloon", "Tsuen Wan"), "Limited", "+852"),
    Origin("US", 5, "USD", ("Los Angeles", "New York", "Dallas", "Miami"), "LLC", "+1"),
    Origin("GB", 4, "GBP", ("London", "Manchester", "Leicester"), "Ltd", "+44"),
    Origin("TR", 4, "TRY", ("Istanbul", "Izmir", "Bursa"), "Tic. Ltd. Şti.", "+90"),
    Origin("KR", 3, "KRW", ("Seoul", "Busan", "Incheon"), "Co., Ltd.", "+82"),
    Origin("IN", 3, "INR", ("Mumbai", "Delhi", "Jaipur", "Surat"), "Pvt. Ltd.", "+91"),
    Origin("VN", 3, "VND", ("Ho Chi Minh City", "Hanoi", "Hai Phong"), "Company Limited", "+84"),
)

SELLER_WORDS = (
    "Bright", "Happy", "Golden", "Star", "Sun", "Ocean", "Dragon", "Lucky", "Smart", "Green", "Blue",
    "Royal", "Fast", "Global", "Unity", "Harmony", "Rainbow", "Silver", "Jade", "Phoenix", "Pioneer",
    "Maple", "Crystal", "Sunrise", "Prime", "Eagle", "Lotus", "Summit", "Nova", "Zen",
)  # fmt: skip
SELLER_TRADES = (
    "Trading", "Technology", "Electronics", "Import & Export", "E-commerce", "Garments", "Home Goods",
    "Crafts", "Industrial", "Supply Chain", "Commerce", "Digital", "Fashion", "Toys", "Beauty",
)  # fmt: skip

PLATFORMS = (
    ("bazaario", 30),
    ("shoplane", 22),
    ("dragonmarket", 18),
    ("temporia", 15),
    ("quickcart", 10),
    ("webshop", 5),
)
"""Marketplaces (name, share); `webshop` stands for the seller's own site."""

CARRIERS = {
    "express": ("swiftair-express", "bluebird-express", "cargolink-express"),
    "cargo": ("cargolink-express", "oceanbridge-logistics"),
}
POSTS = {o.country: f"post-{o.country.lower()}" for o in ORIGINS}
CHANNELS = (("post", 55), ("express", 35), ("cargo", 10))

BRANDS = {
    "sneakers": (("Nike", 60), ("Adidas", 55), ("New Balance", 60)),
    "handbag_leather": (("Louis Vuitton", 900), ("Gucci", 800), ("Chanel", 1500), ("Prada", 900)),
    "handbag_textile": (("Michael Kors", 120), ("Coach", 150)),
    "wallet": (("Louis Vuitton", 300), ("Gucci", 300)),
    "watch_luxury": (("Rolex", 5000), ("Omega", 3000), ("Tag Heuer", 1200)),
    "watch_quartz": (("Casio", 25), ("Fossil", 80)),
    "earbuds": (("Apple AirPods", 120), ("Samsung Galaxy Buds", 80), ("Sony", 70)),
    "headphones": (("Beats", 120), ("Bose", 200), ("Sony", 90)),
    "smartwatch": (("Apple Watch", 250), ("Samsung Galaxy Watch", 180)),
    "smartphone": (("Apple iPhone", 600), ("Samsung Galaxy", 400)),
    "perfume": (("Chanel", 90), ("Dior", 85), ("Yves Saint Laurent", 80)),
    "cosmetics_makeup": (("MAC", 18), ("Estée Lauder", 30), ("Fenty Beauty", 25)),
    "sunglasses": (("Ray-Ban", 110), ("Oakley", 120)),
    "jeans": (("Levi's", 45), ("Diesel", 90)),
    "tshirt_cotton": (("Supreme", 40), ("Gucci", 250), ("Lacoste", 45)),
    "cap": (("New Era", 25), ("Supreme", 40)),
    "jacket_synthetic": (("The North Face", 150), ("Moncler", 900), ("Canada Goose", 700)),
    "jewellery_silver": (("Pandora", 50), ("Tiffany & Co.", 200)),
    "toys_building": (("LEGO", 40),),
    "power_bank": (("Anker", 30),),
    "charger": (("Apple", 19), ("Anker", 15)),
}
"""Brands the counterfeit injector uses, with the lowest plausible genuine unit price in USD."""

WATCHLIST = (
    (
        "WL-0001",
        "Golden Crescent Trading Co., Ltd.",
        "Golden Crescent Trade;金新月贸易有限公司",
        "CN",
        "",
        "uscc:91440300MA5ABCDE1X",
    ),
    ("WL-0002", "Viktor Sergeyevich Orlov", "Viktor Orlov;Виктор Сергеевич Орлов", "RU", "1971-04-12", ""),
    ("WL-0003", "Eastern Star Logistics Limited", "Eastern Star Logistic", "HK", "", ""),
    ("WL-0004", "Al Noor General Trading LLC", "Al-Noor Gen. Trading", "AE", "", ""),
    ("WL-0005", "Shenzhen Redline Electronics Co., Ltd.", "Redline Electronics", "CN", "", ""),
    ("WL-0006", "Mehmet Kaya", "", "TR", "1980-09-30", ""),
    ("WL-0007", "Pacific Rim Components Limited", "PRC Components", "HK", "", ""),
    ("WL-0008", "Dmitri Alexandrovich Volkov", "Dmitry Volkov;Дмитрий Волков", "RU", "1965-01-23", ""),
    ("WL-0009", "Northwind Dual-Use Supplies Ltd", "Northwind Supplies", "GB", "", ""),
    ("WL-0010", "Kim Jong Su", "김종수", "KP", "1975-06-06", ""),
    ("WL-0011", "Ocean Pearl Shipping Company Limited", "Ocean Pearl Shipping", "VN", "", ""),
    ("WL-0012", "Anatolia Precision Parts Tic. Ltd. Şti.", "Anatolia Precision", "TR", "", ""),
)
"""A synthetic watch list (id, name, aliases, country, birth date, identifiers); no real persons."""
