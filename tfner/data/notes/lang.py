"""Per-locale language data: month and weekday names, titles, form keys and calling codes.

Notes are written in English prose, but headers, form keys, dates and titles follow the locale's
language part of the time, as in exported records from Scandinavian, German or French systems.
"""

from __future__ import annotations

# faker locale -> (language, country calling code, trunk prefix, country name in English)
# Word tables: kept dense, several entries a line.
# fmt: off
LOCALE_INFO = {
    "en_US": ("en", "1", "", "USA"),
    "en_GB": ("en", "44", "0", "UK"),
    "en_IN": ("en", "91", "0", "India"),
    "de_DE": ("de", "49", "0", "Germany"),
    "fr_FR": ("fr", "33", "0", "France"),
    "no_NO": ("no", "47", "", "Norway"),
    "sv_SE": ("sv", "46", "0", "Sweden"),
    "da_DK": ("da", "45", "", "Denmark"),
    "nl_NL": ("nl", "31", "0", "the Netherlands"),
    "es_ES": ("es", "34", "", "Spain"),
    "it_IT": ("it", "39", "", "Italy"),
    "pl_PL": ("pl", "48", "", "Poland"),
    "pt_BR": ("pt", "55", "0", "Brazil"),
    "fi_FI": ("fi", "358", "0", "Finland"),
}

# Faker locales whose languages no locale above speaks: where some patients' names, some birthplaces and
# some written dates come from (`Ctx.foreign`), so that a model learns what a name, a place or a date
# looks like rather than the lists of the locales it trains on. Kept disjoint from LOCALE_INFO's
# languages, so that leaving a locale out of training leaves its names out too. Only locales whose
# names are in Latin letters without odd apostrophes; places and dates only from those with real city
# lists and month names.
ORIGINS = (
    "cs_CZ", "hu_HU", "hr_HR", "ro_RO", "sk_SK", "sl_SI", "tr_TR", "az_AZ", "id_ID", "vi_VN", "et_EE",
    "lt_LT", "lv_LV", "is_IS", "ga_IE", "zu_ZA", "yo_NG", "ig_NG", "en_KE", "sw", "en_TH",
)
PLACE_ORIGINS = ("cs_CZ", "hu_HU", "hr_HR", "ro_RO", "sk_SK", "sl_SI", "az_AZ", "id_ID", "zu_ZA")
DATE_ORIGINS = ("cs_CZ", "ro_RO", "sk_SK", "sl_SI", "tr_TR")  # Faker has their month and day tables

_M = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "no": "januar februar mars april mai juni juli august september oktober november desember",
    "sv": "januari februari mars april maj juni juli augusti september oktober november december",
    "da": "januar februar marts april maj juni juli august september oktober november december",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    # genitive / partitive forms, as used after a day number
    "pl": "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "fi": "tammikuuta helmikuuta maaliskuuta huhtikuuta toukokuuta kesäkuuta heinäkuuta elokuuta syyskuuta "
          "lokakuuta marraskuuta joulukuuta",
}
MONTHS = {lang: tuple(names.split()) for lang, names in _M.items()}

_W = {  # Monday first, as datetime.weekday()
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "de": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "no": "mandag tirsdag onsdag torsdag fredag lørdag søndag",
    "sv": "måndag tisdag onsdag torsdag fredag lördag söndag",
    "da": "mandag tirsdag onsdag torsdag fredag lørdag søndag",
    "nl": "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
    "es": "lunes martes miércoles jueves viernes sábado domingo",
    "it": "lunedì martedì mercoledì giovedì venerdì sabato domenica",
    "pl": "poniedziałek wtorek środa czwartek piątek sobota niedziela",
    "pt": "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira sábado domingo",
    "fi": "maanantai tiistai keskiviikko torstai perjantai lauantai sunnuntai",
}
WEEKDAYS = {lang: tuple(names.split()) for lang, names in _W.items()}

# Titles before a patient's family name: (male, female).
TITLES = {
    "en": (("Mr.", "Mr", "Mister"), ("Mrs.", "Ms.", "Mrs", "Ms", "Miss")),
    "de": (("Herr", "Hr."), ("Frau", "Fr.")),
    "fr": (("M.", "Monsieur"), ("Mme", "Madame", "Mme.")),
    "no": (("Herr", "Hr."), ("Fru", "Frk.")),
    "sv": (("Herr",), ("Fru",)),
    "da": (("Hr.", "Herr"), ("Fru",)),
    "nl": (("Dhr.", "De heer"), ("Mevr.", "Mevrouw")),
    "es": (("Sr.", "Don"), ("Sra.", "Doña")),
    "it": (("Sig.", "Signor"), ("Sig.ra", "Signora")),
    "pl": (("Pan",), ("Pani",)),
    "pt": (("Sr.",), ("Sra.",)),
    "fi": (("Herra",), ("Rouva",)),
}

# Titles of some ORIGINS, for patients whose names come from there (in the notes of their new country
# they are rarer than the locale's own, but a model should know a title of an unseen language from a name).
ORIGIN_TITLES = {
    "cs_CZ": (("pan",), ("paní",)), "sk_SK": (("pán",), ("pani",)), "hr_HR": (("g.", "gospodin"), ("gđa", "gospođa")),
    "sl_SI": (("g.", "gospod"), ("ga.", "gospa")), "ro_RO": (("dl.", "domnul"), ("dna.", "doamna")),
    "tr_TR": (("Bay",), ("Bayan",)), "id_ID": (("Bapak", "Bpk."), ("Ibu",)), "vi_VN": (("Ông",), ("Bà",)),
}

SEX = {
    "en": (("M", "male", "Male"), ("F", "female", "Female")),
    "de": (("m", "männlich"), ("w", "weiblich")),
    "fr": (("M", "masculin", "homme"), ("F", "féminin", "femme")),
    "no": (("M", "mann"), ("K", "kvinne")),
    "sv": (("M", "man"), ("K", "kvinna")),
    "da": (("M", "mand"), ("K", "kvinde")),
    "nl": (("M", "man"), ("V", "vrouw")),
    "es": (("H", "varón", "hombre"), ("M", "mujer")),
    "it": (("M", "maschio"), ("F", "femmina")),
    "pl": (("M", "mężczyzna"), ("K", "kobieta")),
    "pt": (("M", "masculino"), ("F", "feminino")),
    "fi": (("M", "mies"), ("N", "nainen")),
}

# Words after an age: ("41 years", "41 Jahre", ...).
AGE_UNITS = {
    "en": ("years", "yrs", "y", "yo", "y/o", "years old"), "de": ("Jahre", "J."), "fr": ("ans",),
    "no": ("år",), "sv": ("år",), "da": ("år",), "nl": ("jaar", "jr"), "es": ("años",), "it": ("anni",),
    "pl": ("lat",), "pt": ("anos",), "fi": ("vuotta", "v"),
}

# Form keys per field and language; "en" is always available as well.
_KEYS = {
    "name": {
        "en": ("Name", "Patient name", "Patient", "Pt.", "Pt", "Full name", "Patient Name", "PATIENT NAME", "Pat."),
        "de": ("Name", "Patient", "Patientin", "Pat.-Name", "Name, Vorname"),
        "fr": ("Nom", "Patient", "Nom du patient"),
        "no": ("Navn", "navn", "Pasient", "Pasientnavn"), "sv": ("Namn", "Patient", "Patientnamn"),
        "da": ("Navn", "Patient", "Patientnavn"), "nl": ("Naam", "Patiënt", "Naam patiënt"),
        "es": ("Nombre", "Paciente", "Nombre y apellidos"), "it": ("Nome", "Paziente", "Cognome e nome"),
        "pl": ("Imię i nazwisko", "Pacjent", "Nazwisko"), "pt": ("Nome", "Paciente", "Nome do paciente"),
        "fi": ("Nimi", "Potilas", "Potilaan nimi"),
    },
    "given": {
        "en": ("First name", "Given name", "Forename", "givenName"), "de": ("Vorname",), "fr": ("Prénom",),
        "no": ("Fornavn",), "sv": ("Förnamn",), "da": ("Fornavn",), "nl": ("Voornaam",), "es": ("Nombre",),
        "it": ("Nome",), "pl": ("Imię",), "pt": ("Nome",), "fi": ("Etunimi",),
    },
    "family": {
        "en": ("Last name", "Surname", "Family name", "familyName"), "de": ("Nachname", "Familienname"),
        "fr": ("Nom", "Nom de famille"), "no": ("Etternavn",), "sv": ("Efternamn",), "da": ("Efternavn",),
        "nl": ("Achternaam",), "es": ("Apellidos",), "it": ("Cognome",), "pl": ("Nazwisko",),
        "pt": ("Sobrenome",), "fi": ("Sukunimi",),
    },
    "dob": {
        "en": ("DOB", "D.O.B.", "Date of birth", "Born", "Birth date", "birthDate"),
        "de": ("Geb.", "Geburtsdatum", "geb. am"), "fr": ("Né(e) le", "Date de naissance", "DDN"),
        "no": ("Født", "Fødselsdato", "f."), "sv": ("Född", "Födelsedatum"), "da": ("Født", "Fødselsdato"),
        "nl": ("Geboortedatum", "Geb. datum"), "es": ("Fecha de nacimiento", "F. nac."),
        "it": ("Data di nascita", "Nato/a il"), "pl": ("Data urodzenia", "Ur."), "pt": ("Data de nascimento", "DN"),
        "fi": ("Syntymäaika", "Synt."),
    },
    "age": {
        "en": ("Age", "Age (years)", "age", "Age/Sex"), "de": ("Alter",), "fr": ("Âge", "Age"), "no": ("Alder",),
        "sv": ("Ålder",), "da": ("Alder",), "nl": ("Leeftijd",), "es": ("Edad",), "it": ("Età",), "pl": ("Wiek",),
        "pt": ("Idade",), "fi": ("Ikä",),
    },
    "sex": {
        "en": ("Sex", "Gender"), "de": ("Geschlecht",), "fr": ("Sexe",), "no": ("Kjønn",), "sv": ("Kön",),
        "da": ("Køn",), "nl": ("Geslacht",), "es": ("Sexo",), "it": ("Sesso",), "pl": ("Płeć",), "pt": ("Sexo",),
        "fi": ("Sukupuoli",),
    },
    "address": {
        "en": ("Address", "Home address", "Addr."), "de": ("Adresse", "Anschrift", "Wohnort"),
        "fr": ("Adresse", "Domicile"), "no": ("Adresse", "Bostedsadresse"), "sv": ("Adress", "Bostadsadress"),
        "da": ("Adresse", "Bopæl"), "nl": ("Adres", "Woonadres"), "es": ("Domicilio", "Dirección"),
        "it": ("Indirizzo", "Residenza"), "pl": ("Adres", "Adres zamieszkania"), "pt": ("Endereço",),
        "fi": ("Osoite", "Kotiosoite"),
    },
    "city": {
        "en": ("City", "Town", "Residence", "City of residence", "From", "Home town", "Lives in", "Place of residence"),
        "de": ("Ort", "Wohnort", "Stadt"), "fr": ("Ville", "Commune", "Domicile"),
        "no": ("Poststed", "Bosted", "Kommune"), "sv": ("Ort", "Postort", "Bostadsort"), "da": ("By", "Bopælskommune"),
        "nl": ("Woonplaats", "Plaats"),
        "es": ("Ciudad", "Localidad", "Municipio", "Domicilio"), "it": ("Città", "Comune", "Residenza"),
        "pl": ("Miejscowość", "Miasto"), "pt": ("Cidade", "Município"), "fi": ("Kotikunta", "Postitoimipaikka"),
    },
    "birthplace": {  # another city than the patient's own
        "en": ("Born in", "Place of birth", "Birthplace", "Town of birth"), "de": ("Geburtsort",),
        "fr": ("Lieu de naissance", "Né(e) à"), "no": ("Fødested",), "sv": ("Födelseort",), "da": ("Fødested",),
        "nl": ("Geboorteplaats",), "es": ("Lugar de nacimiento",), "it": ("Luogo di nascita", "Nato/a a"),
        "pl": ("Miejsce urodzenia",), "pt": ("Naturalidade", "Local de nascimento"), "fi": ("Syntymäpaikka",),
    },
    "phone": {
        "en": ("Phone", "Tel.", "Tel", "Telephone", "Mobile", "Contact no.", "Ph", "Cell", "phoneNumber"),
        "de": ("Telefon", "Tel.", "Mobil", "Handy"), "fr": ("Téléphone", "Tél.", "Tél", "Portable"),
        "no": ("Telefon", "Tlf.", "Mobil", "Tlf"), "sv": ("Telefon", "Tel.", "Mobil"),
        "da": ("Telefon", "Tlf.", "Mobil"), "nl": ("Telefoon", "Tel.", "Mobiel"), "es": ("Teléfono", "Tel.", "Móvil"),
        "it": ("Telefono", "Tel.", "Cellulare"), "pl": ("Telefon", "Tel.", "Nr tel."),
        "pt": ("Telefone", "Tel.", "Celular"), "fi": ("Puhelin", "Puh.", "Matkapuhelin"),
    },
    "natid": {
        "en": ("National ID", "SSN", "Personal number", "ID no.", "socialSecurityNumber"),
        "de": ("Versichertennr.", "Rentenvers.-Nr.", "KV-Nr."), "fr": ("N° SS", "NIR", "N° de sécurité sociale"),
        "no": ("Fødselsnummer", "Fnr.", "F.nr."), "sv": ("Personnummer", "Pnr"), "da": ("CPR-nr.", "CPR"),
        "nl": ("BSN", "Burgerservicenummer"), "es": ("DNI", "NIF", "NUSS"), "it": ("Codice fiscale", "C.F."),
        "pl": ("PESEL",), "pt": ("CPF",), "fi": ("Henkilötunnus", "Hetu", "HETU"),
    },
    "mrn": {
        "en": ("MRN", "Medical record no.", "Patient ID", "Record ID", "Hospital no.", "Case no.", "Chart #"),
        "de": ("Pat.-Nr.", "Fallnummer", "Patienten-ID"), "fr": ("N° dossier", "IPP", "N° patient"),
        "no": ("Journalnr.", "Pasient-ID", "Saksnr."), "sv": ("Journalnummer", "Patient-ID"),
        "da": ("Journalnr.", "Patient-ID"), "nl": ("Patiëntnummer", "Dossiernr."), "es": ("NHC", "N.º historia"),
        "it": ("N. cartella", "ID paziente"), "pl": ("Nr historii choroby", "ID pacjenta"),
        "pt": ("Prontuário", "Nº prontuário"), "fi": ("Potilasnumero", "Asiakasnro"),
    },
    "admitted": {
        "en": ("Admitted", "Admission date", "Date of admission", "Adm. date"), "de": ("Aufnahme", "Aufnahmedatum"),
        "fr": ("Date d'entrée", "Admis le"), "no": ("Innlagt", "Innleggelsesdato"), "sv": ("Inskriven", "Inskrivning"),
        "da": ("Indlagt", "Indlæggelsesdato"), "nl": ("Opnamedatum", "Opgenomen"), "es": ("Fecha de ingreso",),
        "it": ("Data ricovero",), "pl": ("Data przyjęcia",), "pt": ("Data de internação",), "fi": ("Tulopäivä",),
    },
    "visit": {
        "en": ("Date", "Visit date", "Date of visit", "Seen", "Date of service"), "de": ("Datum", "Untersuchungsdatum"),
        "fr": ("Date", "Date de consultation"), "no": ("Dato", "Konsultasjonsdato"), "sv": ("Datum", "Besöksdatum"),
        "da": ("Dato", "Besøgsdato"), "nl": ("Datum", "Consultdatum"), "es": ("Fecha", "Fecha de consulta"),
        "it": ("Data", "Data visita"), "pl": ("Data", "Data wizyty"), "pt": ("Data", "Data da consulta"),
        "fi": ("Päivämäärä", "Käyntipäivä"),
    },
    "doctor": {
        "en": ("Attending", "Physician", "Referring physician", "Consultant", "GP"),
        "de": ("Arzt", "Behandelnder Arzt"),
        "fr": ("Médecin", "Médecin traitant"), "no": ("Lege", "Fastlege", "Behandlende lege"),
        "sv": ("Läkare", "Ansvarig läkare"), "da": ("Læge", "Egen læge"), "nl": ("Arts", "Huisarts"),
        "es": ("Médico", "Médico responsable"), "it": ("Medico", "Medico curante"), "pl": ("Lekarz",),
        "pt": ("Médico", "Médico responsável"), "fi": ("Lääkäri", "Hoitava lääkäri"),
    },
    "hospital": {
        "en": ("Hospital", "Facility", "Site"), "de": ("Klinik", "Krankenhaus"), "fr": ("Établissement", "Hôpital"),
        "no": ("Sykehus", "Helseforetak"), "sv": ("Sjukhus",), "da": ("Sygehus", "Hospital"), "nl": ("Ziekenhuis",),
        "es": ("Centro", "Hospital"), "it": ("Struttura", "Ospedale"), "pl": ("Szpital", "Placówka"),
        "pt": ("Hospital", "Unidade"), "fi": ("Sairaala", "Yksikkö"),
    },
    "email": {
        "en": ("E-mail", "Email", "email"), "de": ("E-Mail",), "fr": ("Courriel", "E-mail"), "no": ("E-post",),
        "sv": ("E-post",), "da": ("E-mail",), "nl": ("E-mail",), "es": ("Correo", "Email"), "it": ("Email",),
        "pl": ("E-mail",), "pt": ("E-mail",), "fi": ("Sähköposti",),
    },
}


# fmt: on
def key(rng, field: str, lang: str) -> str:
    """A form key for `field`: the locale's language 60% of the time, English otherwise."""
    table = _KEYS[field]
    if lang != "en" and lang in table and rng.random() < 0.6:
        return rng.choice(table[lang])
    return rng.choice(table["en"])


# Headings of forms, in the language of the form.
# Word tables: kept dense, several entries a line.
# fmt: off
FORM_TITLES = {
    "en": ("PATIENT RECORD", "Patient details", "Admission form", "Registration", "Demographics",
           "Outpatient visit", "PATIENT INFORMATION"),
    "de": ("Patientenstammblatt", "Aufnahmebogen", "Patientendaten"), "fr": ("Fiche patient", "Identité du patient"),
    "no": ("Pasientopplysninger", "Innkomstjournal", "Personalia"), "sv": ("Patientuppgifter", "Inskrivning"),
    "da": ("Patientoplysninger", "Indlæggelse"), "nl": ("Patiëntgegevens", "Opnameformulier"),
    "es": ("Datos del paciente", "Hoja de ingreso"), "it": ("Dati anagrafici", "Scheda paziente"),
    "pl": ("Dane pacjenta", "Karta przyjęcia"), "pt": ("Ficha do paciente", "Dados do paciente"),
    "fi": ("Potilastiedot", "Tulotiedot"),
}

# Titles of the prose and report families in the locale's language (used part of the time).
_T = {
    "admission": ("Aufnahmebefund", "Observation d'entrée", "Innkomstjournal", "Inskrivningsanteckning",
                  "Indlæggelsesnotat", "Opnameverslag", "Nota de ingreso", "Cartella di ingresso", "Karta przyjęcia",
                  "Nota de admissão", "Tulotilanne"),
    "discharge": ("Entlassungsbrief", "Compte rendu d'hospitalisation", "Epikrise", "Epikris", "Epikrise",
                  "Ontslagbrief", "Informe de alta", "Lettera di dimissione", "Karta informacyjna", "Resumo de alta",
                  "Loppulausunto"),
    "referral": ("Überweisung", "Lettre d'adressage", "Henvisning", "Remiss", "Henvisning", "Verwijzing",
                 "Hoja de derivación", "Impegnativa", "Skierowanie", "Encaminhamento", "Lähete"),
    "nursing": ("Pflegebericht", "Transmissions infirmières", "Sykepleienotat", "Omvårdnadsanteckning",
                "Sygeplejenotat", "Verpleegkundige rapportage", "Notas de enfermería", "Diario infermieristico",
                "Raport pielęgniarski", "Evolução de enfermagem", "Hoitotyön kirjaus"),
    "phone": ("Telefonat", "Consultation téléphonique", "Telefonkonsultasjon", "Telefonkontakt",
              "Telefonkonsultation", "Telefonisch consult", "Consulta telefónica", "Consulto telefonico", "Teleporada",
              "Teleconsulta", "Puhelinkontakti"),
    "lab": ("Laborbefund", "Compte rendu de biologie", "Laboratoriesvar", "Labbsvar", "Laboratoriesvar",
            "Laboratoriumuitslag", "Informe de laboratorio", "Referto di laboratorio", "Wyniki badań",
            "Resultado de exames", "Laboratoriovastaus"),
    "radiology": ("Röntgenbefund", "Compte rendu radiologique", "Radiologisk beskrivelse", "Röntgenutlåtande",
                  "Røntgenbeskrivelse", "Radiologieverslag", "Informe radiológico", "Referto radiologico",
                  "Opis badania", "Laudo radiológico", "Radiologinen lausunto"),
    "prescription": ("Rezept", "Ordonnance", "Resept", "Recept", "Recept", "Recept", "Receta", "Ricetta", "Recepta",
                     "Receita", "Resepti"),
}
_ORDER = ("de", "fr", "no", "sv", "da", "nl", "es", "it", "pl", "pt", "fi")
LOCAL_TITLES = {kind: dict(zip(_ORDER, names)) for kind, names in _T.items()}


# fmt: on
def doc_title(rng, kind: str, lang: str, english: tuple[str, ...]) -> str:
    """A document title: the locale's own word a third of the time, an English one otherwise."""
    local = LOCAL_TITLES[kind].get(lang)
    if local and rng.random() < 0.35:
        return local.upper() if rng.random() < 0.3 else local
    return rng.choice(english)


# Message headers and greetings: English, or the locale's language a third of the time.
# Word tables: kept dense, several entries a line.
# fmt: off
_HEADERS = {
    "from": {"en": ("From: ", "Sender: "), "no": ("Fra: ",), "da": ("Fra: ",), "sv": ("Från: ",), "de": ("Von: ",),
             "nl": ("Van: ",), "fr": ("De : ",), "es": ("De: ",), "it": ("Da: ",), "pl": ("Od: ",), "pt": ("De: ",),
             "fi": ("Lähettäjä: ",)},
    "to": {"en": ("To: ", "Recipient: "), "no": ("Til: ",), "da": ("Til: ",), "sv": ("Till: ",), "de": ("An: ",),
           "nl": ("Aan: ",), "fr": ("À : ",), "es": ("Para: ",), "it": ("A: ",), "pl": ("Do: ",), "pt": ("Para: ",),
           "fi": ("Vastaanottaja: ",)},
    "greeting": {"en": ("Hi,", "Hello,", "Dear colleague,", "Good morning,"), "no": ("Hei,",), "da": ("Hej,",),
                 "sv": ("Hej,",), "de": ("Hallo,", "Liebe Kollegen,"), "nl": ("Hallo,", "Beste collega,"),
                 "fr": ("Bonjour,", "Chère consœur, cher confrère,"), "es": ("Hola,", "Estimado colega:"),
                 "it": ("Buongiorno,", "Gentile collega,"), "pl": ("Dzień dobry,",), "pt": ("Olá,", "Prezado colega,"),
                 "fi": ("Hei,",)},
}


# fmt: on
def header(rng, kind: str, lang: str) -> str:
    table = _HEADERS[kind]
    if lang in table and lang != "en" and rng.random() < 0.35:
        return rng.choice(table[lang])
    return rng.choice(table["en"])
