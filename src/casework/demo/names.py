"""Names and places for generated demo customers."""

FIRST_NAMES = [
    "Anna", "Lena", "Marie", "Sophie", "Emma", "Mia", "Hannah", "Laura", "Julia", "Sarah",
    "Katharina", "Ursula", "Monika", "Petra", "Sabine", "Gisela", "Renate", "Ingrid", "Jürgen",
    "Klaus", "Peter", "Thomas", "Michael", "Andreas", "Stefan", "Markus", "Jan", "Lukas", "Felix",
    "Jonas", "Leon", "Paul", "Ben", "Elias", "Noah", "Tim", "Tobias", "Florian", "Sebastian",
    "Wolfgang", "Dieter", "Günter", "Horst", "Manfred", "Özlem", "Mehmet", "Aylin", "Dragan",
    "Natalia", "Piotr",
]  # fmt: skip

LAST_NAMES = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
    "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler",
    "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang",
    "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Yılmaz", "Kaya", "Nowak", "Kowalski",
]  # fmt: skip

CITIES = [
    ("Berlin", "10115"), ("Hamburg", "20095"), ("München", "80331"), ("Köln", "50667"),
    ("Frankfurt am Main", "60311"), ("Stuttgart", "70173"), ("Düsseldorf", "40213"),
    ("Leipzig", "04109"), ("Dortmund", "44135"), ("Essen", "45127"), ("Bremen", "28195"),
    ("Dresden", "01067"), ("Hannover", "30159"), ("Nürnberg", "90402"), ("Münster", "48143"),
    ("Freiburg im Breisgau", "79098"), ("Rostock", "18055"), ("Kiel", "24103"),
    ("Görlitz", "02826"), ("Würzburg", "97070"),
]  # fmt: skip

STREETS = [
    "Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Dorfstraße", "Bergstraße",
    "Birkenweg", "Lindenstraße", "Kirchstraße", "Waldstraße", "Ringstraße", "Schillerstraße",
    "Goethestraße", "Am Markt", "Mühlenweg", "Friedrichstraße", "Rosenstraße", "Königsallee",
]  # fmt: skip
